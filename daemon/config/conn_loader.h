/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections and secrets in swanctl.conf syntax, read with the settings parser:
 *
 *   connections {
 *       NAME {
 *           local_addrs = 192.0.2.1      remote_addrs = 192.0.2.2   (first address used;
 *                                        remote_addrs may be a DNS name)
 *           proposals = aes256gcm16-prfsha256-curve25519            (default: defaults)
 *           encap = no   dpd_delay = 30s   unique = no (never, replace)   keyingtries = 1
 *           rekey_time = 4h  over_time = (10 % of rekey_time)  rand_time = (over_time)
 *           local { auth = psk  id = moon }   remote { auth = psk  id = sun }
 *           children { NAME { local_ts, remote_ts, esp_proposals, start_action, mode,
 *                             rekey_time = 1h, life_time = (110 %), rand_time,
 *                             if_id_in, if_id_out, replay_window, dpd_action,
 *                             close_action } }
 *       }
 *   }
 *   secrets { ike-X { id = moon  id-2 = sun  secret = "…" (or 0x… hex) } }
 *
 * Other keys are checked first (config/conn_keys.h): unknown ones, and those vpnd cannot
 * honour, are errors.
 * One section becomes one ConnConfig (VICI load-conn reuses conn_loader_parse_conn()).
 * Errors name FILE:LINE where the settings parser knows it. Secrets are never logged.
 */
#pragma once

#include <glib.h>
#include <vpnd/types.h>

#include "config/conn.h"
#include "config/settings.h"

G_BEGIN_DECLS

/* swanctl.conf's defaults; 0 in the file turns rekeying off. */
#define CONN_LOADER_IKE_REKEY_TIME (4 * 3600)
#define CONN_LOADER_CHILD_REKEY_TIME 3600

/* The connection in @section (named after it); @file names it in errors. (transfer full) */
ConnConfig *conn_loader_parse_conn(const SettingsSection *section, const char *file,
				   GError **error);

/* Pre-shared keys, looked up by identity. */
typedef struct ConnSecrets ConnSecrets;

ConnSecrets *conn_secrets_new(void);
void conn_secrets_free(ConnSecrets *secrets);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConnSecrets, conn_secrets_free)
/* Adds every `ike…` entry of a `secrets { }` section. */
gboolean conn_secrets_load_section(ConnSecrets *secrets, const SettingsSection *section,
				   const char *file, GError **error);
guint conn_secrets_count(const ConnSecrets *secrets);
/*
 * The PSK whose identities best match @local and @remote (either may be NULL): one
 * naming both wins over one naming one of them; a secret without ids matches anyone.
 * (transfer full) (nullable)
 */
VpndSecret *conn_secrets_lookup_psk(const ConnSecrets *secrets, const ConnIdentity *local,
				    const ConnIdentity *remote);

/* One PSK as a `secrets { ike-NAME { … } }` entry or a VICI load-shared gives it. */
typedef struct {
	char *name;         /* unique among the store's keys ("ike-NAME" from files) */
	GPtrArray *owners;  /* ConnIdentity; empty: anyone */
	VpndSecret *secret; /* zeroed when freed */
} ConnSharedKey;

/* @owners as conn_identity_parse() reads them; @secret is copied. (transfer full) */
ConnSharedKey *conn_shared_key_new(const char *name, const char *const *owners,
				   const VpndSecret *secret, GError **error);
void conn_shared_key_free(ConnSharedKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConnSharedKey, conn_shared_key_free)

/* Adds @key (transfer full), replacing a key of the same name. */
void conn_secrets_take(ConnSecrets *secrets, ConnSharedKey *key);
/* FALSE if there is no key named @name. */
gboolean conn_secrets_remove(ConnSecrets *secrets, const char *name);
/* The keys' names, in load order. (transfer full) */
GStrv conn_secrets_list_names(const ConnSecrets *secrets);

/* An address pool: `pools { NAME { addrs = … } }` or VICI load-pool. */
typedef struct {
	char *name;
	char *addrs; /* "10.3.0.0/28" or "10.3.0.1-10.3.0.20", as written */
} ConnPoolDef;
void conn_pool_def_free(ConnPoolDef *pool);

/* What one swanctl.conf-syntax text defines, in its order; parsed all or nothing. */
typedef struct {
	GPtrArray *conns;  /* ConnConfig */
	GPtrArray *shared; /* ConnSharedKey */
	GPtrArray *pools;  /* ConnPoolDef */
} ConnLoad;

/* Parses @text (@origin names it in errors, as FILE:LINE). Texts come from clients
 * (VICI, D-Bus): an include statement is refused, so no client makes vpnd open a path.
 * (transfer full) */
ConnLoad *conn_loader_parse_text(const char *text, const char *origin, GError **error);
/* The same for a file; its includes are relative to its folder. (transfer full) */
ConnLoad *conn_loader_parse_file(const char *path, GError **error);
void conn_load_free(ConnLoad *load);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConnLoad, conn_load_free)

/*
 * Reads every *.conf in @dir (sorted by name): connections appended to @conns
 * (ConnConfig), secrets added to @secrets. A missing folder is no error.
 */
gboolean conn_loader_load_dir(const char *dir, GPtrArray *conns, ConnSecrets *secrets,
			      GError **error);

/* The *.conf files of @dir, full paths sorted by name; empty if @dir cannot be read.
 * (transfer full) */
GStrv conn_loader_list_dir(const char *dir);

G_END_DECLS
