/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin ABI. Each plugin .so exports exactly one symbol, `vpnd_plugin`, a const
 * VpndPlugin. The loader checks `abi` and `struct_size` before it calls anything; `init`
 * only registers providers with the host and returns FALSE (setting `error`) when the
 * plugin cannot work on this system.
 */
#pragma once

#include <glib.h>
#include <vpnd/log.h>
#include <vpnd/types.h>

G_BEGIN_DECLS

/* Bump on any incompatible change to this header or to a provider ops table. */
#define VPND_PLUGIN_ABI 1
#define VPND_PLUGIN_SYMBOL "vpnd_plugin"

typedef struct VpndHost VpndHost;

typedef struct {
	guint32 abi;         /* VPND_PLUGIN_ABI the plugin was built against */
	guint32 struct_size; /* sizeof(VpndPlugin) at build time */
	const char *name;    /* equals the file name without ".so" */
	gboolean (*init)(VpndHost *host, GError **error);
	void (*fini)(void);
} VpndPlugin;

/* What a provider offers; the ops table behind each kind is defined in its own header. */
typedef enum {
	VPND_PROVIDER_CRYPTO, /* VpndCryptoOps, include/vpnd/crypto.h */
	VPND_PROVIDER_KERNEL, /* VpndKernelOps, include/vpnd/kernel.h */
	VPND_PROVIDER_AUTH,   /* VpndAuthOps, include/vpnd/auth.h */
	VPND_PROVIDER_TEST,   /* used only by the loader's own tests */
	VPND_PROVIDER_N_KINDS
} VpndProviderKind;

/*
 * Registers a provider of @kind under @name. For each use the host picks the provider
 * with the highest @priority among those that can serve it. @ops and @user_data are
 * borrowed and must stay valid until the plugin's fini() has run.
 */
VPND_EXPORT void vpnd_host_add_provider(VpndHost *host, VpndProviderKind kind,
					const char *name, gconstpointer ops, gint priority,
					gpointer user_data);

/* A setting from vpnd.conf by dotted key ("plugins.kernel-tun.mtu"); (nullable) */
VPND_EXPORT const char *vpnd_host_get_setting(VpndHost *host, const char *key);

/*
 * For plugins that use another provider's crypto (kernel-tun's ESP): the ops table (a
 * const VpndCryptoOps *) of the highest-priority VPND_PROVIDER_CRYPTO whose supports()
 * accepts (@type, @id, @key_bits), as include/vpnd/crypto.h defines them. (nullable)
 */
VPND_EXPORT gconstpointer vpnd_host_get_crypto(VpndHost *host, guint type, guint id,
					       guint key_bits);

G_END_DECLS
