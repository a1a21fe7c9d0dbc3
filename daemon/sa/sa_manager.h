/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's IKE runtime: the connections of conf_dir, the IKE engine, the UDP
 * service and the best kernel provider, on the GLib main loop. Datagrams and timers go
 * into the engine; what it asks for (send, arm a timer, install an SA or a policy) is
 * carried out here, and state changes are published to the control API, with each
 * connection's traffic counters (read from the kernel provider every second while it
 * has SAs, and on every listing).
 *
 *   settings: conf_dir (default /etc/vpnd/conf.d), net { port, port_nat_t, addresses },
 *   ike { retransmit_timeout, retransmit_base, retransmit_tries, half_open_max,
 *   half_open_per_peer, cookie_threshold }
 */
#pragma once

#include <glib.h>

#include "config/settings.h"
#include "control/control.h"

G_BEGIN_DECLS

#define SA_MANAGER_DEFAULT_CONF_DIR "/etc/vpnd/conf.d"

typedef struct SaManager SaManager;

/*
 * The engine, without connections yet. The kernel provider and the sockets open with
 * the first connection loaded (a vpnd without connections leaves UDP 500 alone).
 * @control receives connection events; both it and @host must outlive the manager.
 * (nullable) with @error when the net settings are wrong.
 */
SaManager *sa_manager_new(VpndHost *host, Settings *settings, Control *control, GError **error);
/* The *.conf files of conf_dir, each as sa_manager_load() takes a text. */
gboolean sa_manager_load_conf_dir(SaManager *mgr, GError **error);
/* Initiates every child with start_action = start: per connection one IKE SA, the
 * first such child in IKE_AUTH, the others in CREATE_CHILD_SA once it is up. */
void sa_manager_start(SaManager *mgr);
/* Sends a Delete for every IKE SA (best effort), then removes SAs and policies. */
void sa_manager_free(SaManager *mgr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SaManager, sa_manager_free)

/* ControlHooks: every connection (transfer full), start and stop negotiating one. */
GPtrArray *sa_manager_list_connections(SaManager *mgr);
/* Trap policies, one entry per child. (transfer full: ControlPolicy) */
GPtrArray *sa_manager_list_policies(SaManager *mgr);
/* swanctl --install / --uninstall: control_install_trap(), control_uninstall_trap(). */
gboolean sa_manager_install_trap(SaManager *mgr, const char *name, const char *child,
				 GError **error);
gboolean sa_manager_uninstall_trap(SaManager *mgr, const char *name, const char *child,
				   GError **error);
/* One connection, its counters read now. (transfer full) (nullable) */
ControlConn *sa_manager_lookup_connection(SaManager *mgr, const char *name);
gboolean sa_manager_initiate(SaManager *mgr, const char *name, GError **error);
gboolean sa_manager_initiate_child(SaManager *mgr, const char *name, const char *child,
				   GError **error);
gboolean sa_manager_rekey(SaManager *mgr, const ControlSaSelector *sel, guint *matches,
			  GError **error);
gboolean sa_manager_terminate_sas(SaManager *mgr, const ControlSaSelector *sel, guint *matches,
				  GError **error);
gboolean sa_manager_terminate(SaManager *mgr, const char *name, GError **error);
/* Connections, keys and pools in swanctl.conf syntax (the only way into the store);
 * names of the connections loaded. (transfer full) */
char **sa_manager_load(SaManager *mgr, const char *text, const char *origin, GError **error);
gboolean sa_manager_unload(SaManager *mgr, const char *name, GError **error);
GPtrArray *sa_manager_list_conn_configs(SaManager *mgr);
gboolean sa_manager_load_shared(SaManager *mgr, const char *name, const char *const *owners,
				const VpndSecret *secret, GError **error);
gboolean sa_manager_unload_shared(SaManager *mgr, const char *name, GError **error);
GStrv sa_manager_list_shared(SaManager *mgr);
GPtrArray *sa_manager_list_sas(SaManager *mgr);
gboolean sa_manager_get_counters(SaManager *mgr, ControlCounters *counters);
void sa_manager_reset_counters(SaManager *mgr);

/*
 * Whether events carry full SA views (control_sa_views_wanted()): while they do, the
 * last view of every IKE SA is kept for its down and rekey events; set from
 * ControlHooks.sa_views_changed.
 */
void sa_manager_keep_views(SaManager *mgr, gboolean keep);

G_END_DECLS
