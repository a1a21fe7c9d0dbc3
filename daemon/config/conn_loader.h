/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections and secrets in swanctl.conf syntax, read with the settings parser:
 *
 *   connections {
 *       NAME {
 *           local_addrs = 192.0.2.1      remote_addrs = 192.0.2.2   (first address used)
 *           proposals = aes256gcm16-prfsha256-curve25519            (default: defaults)
 *           encap = no   dpd_delay = 30s
 *           rekey_time = 4h  over_time = (10 % of rekey_time)  rand_time = (over_time)
 *           local { auth = psk  id = moon }   remote { auth = psk  id = sun }
 *           children { NAME { local_ts, remote_ts, esp_proposals, start_action, mode,
 *                             rekey_time = 1h, life_time = (110 %), rand_time } }
 *       }
 *   }
 *   secrets { ike-X { id = moon  id-2 = sun  secret = "…" (or 0x… hex) } }
 *
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

/*
 * Reads every *.conf in @dir (sorted by name): connections appended to @conns
 * (ConnConfig), secrets added to @secrets. A missing folder is no error.
 */
gboolean conn_loader_load_dir(const char *dir, GPtrArray *conns, ConnSecrets *secrets,
			      GError **error);

G_END_DECLS
