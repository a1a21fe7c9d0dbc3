/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vpnctl: the command table, options common to all commands, and dispatch. */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpnctl.h"

static const VpnctlCommand *const commands[] = {
	&list_command, &status_command, &up_command,     &down_command,
	&log_command,  &load_command,   &unload_command, &version_command,
};

static gboolean opt_json;

static const GOptionEntry common_options[] = {
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON (keys are listed in vpnctl(1))",
	  NULL },
	G_OPTION_ENTRY_NULL,
};

static void
print_usage(FILE *out)
{
	fprintf(out, "Usage: vpnctl [--json] COMMAND [OPTIONS] [ARGS]\n\n"
		     "Controls vpnd, the IKE VPN daemon, over D-Bus.\n\nCommands:\n");
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *usage =
			g_strdup_printf("%s %s", commands[i]->name, commands[i]->args);
		fprintf(out, "  %-16s %s\n", usage, commands[i]->summary);
	}
	fprintf(out, "\nOptions:\n"
		     "  -j, --json       Print JSON\n"
		     "  -h, --help       Show help (vpnctl COMMAND --help for a command's)\n\n"
		     "Exit codes: 0 success, 1 failure, 2 usage, 3 vpnd not reachable,\n"
		     "4 not found, 5 already active, 6 authentication failed, 7 timeout,\n"
		     "8 permission denied, 9 invalid argument, 10 not supported.\n"
		     "See vpnctl(1).\n");
}

int
vpnctl_usage_error(Vpnctl *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_printerr("vpnctl: %s: %s\nTry 'vpnctl %s --help'.\n", v->command, msg, v->command);
	return VPNCTL_EXIT_USAGE;
}

/* The first argument that is not an option: the command word. -1 if none. */
static int
find_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (g_str_equal(argv[i], "--"))
			return i + 1 < argc ? i + 1 : -1;
		if (argv[i][0] != '-')
			return i;
	}
	return -1;
}

static const VpnctlCommand *
lookup(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_str_equal(commands[i]->name, name))
			return commands[i];
	}
	return NULL;
}

static gboolean
asks_for_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (g_str_equal(argv[i], "--help") || g_str_equal(argv[i], "-h"))
			return TRUE;
	}
	return FALSE;
}

/* Parses the common and the command's options; leaves the arguments in argv[1..]. */
static gboolean
parse_options(const VpnctlCommand *cmd, int *argc, char ***argv, GError **error)
{
	g_autofree char *param = g_strdup_printf("%s %s", cmd->name, cmd->args);
	g_autoptr(GOptionContext) ctx = g_option_context_new(param);

	g_option_context_set_summary(ctx, cmd->summary);
	g_option_context_add_main_entries(ctx, common_options, NULL);
	if (cmd->options)
		g_option_context_add_main_entries(ctx, cmd->options, NULL);
	g_option_context_set_description(ctx, "See vpnctl(1).");
	return g_option_context_parse(ctx, argc, argv, error);
}

static int
run(int argc, char **argv)
{
	int at = find_command(argc, argv);
	g_autoptr(GError) error = NULL;

	if (at < 0) {
		gboolean help = asks_for_help(argc, argv);
		print_usage(help ? stdout : stderr);
		return help ? VPNCTL_EXIT_OK : VPNCTL_EXIT_USAGE;
	}
	const VpnctlCommand *cmd = lookup(argv[at]);
	if (!cmd) {
		g_printerr("vpnctl: unknown command '%s'\nTry 'vpnctl --help'.\n", argv[at]);
		return VPNCTL_EXIT_USAGE;
	}
	/* the command word out, so that options may come before or after it */
	memmove(&argv[at], &argv[at + 1], (argc - at) * sizeof(char *));
	argc--;
	Vpnctl v = { .command = cmd->name };
	if (!parse_options(cmd, &argc, &argv, &error))
		return vpnctl_usage_error(&v, "%s", error->message);
	v.json = opt_json;
	v.tty = isatty(STDOUT_FILENO);
	v.color = v.tty && !g_getenv("NO_COLOR") && g_strcmp0(g_getenv("TERM"), "dumb") != 0;
	int status = cmd->run(&v, argc, argv);
	g_clear_object(&v.bus);
	return status;
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	g_set_prgname("vpnctl");
	/* a copy: parsing reorders and the command word is taken out */
	g_autofree char **args = g_new0(char *, argc + 1);
	memcpy(args, argv, argc * sizeof(char *));
	return run(argc, args);
}
