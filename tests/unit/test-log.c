/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core/log.c: which lines are formatted at all, and what tracers see. */
#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "ike"
#include <vpnd/log.h>

#include "core/log.h"

typedef struct {
	GPtrArray *lines; /* "LEVEL MESSAGE" */
} Trace;

static void
on_trace(LogLevel level, const char *domain, const char *message, const char *conn,
	 gpointer user_data)
{
	Trace *t = user_data;

	g_ptr_array_add(t->lines, g_strdup_printf("%s %s", log_level_to_string(level), message));
}

static int
counted(int *calls)
{
	return ++*calls;
}

static void
test_wanted_by_threshold(void)
{
	int calls = 0;

	log_reset_levels();
	g_assert_true(vpnd_log_wanted("ike", G_LOG_LEVEL_MESSAGE));
	g_assert_false(vpnd_log_wanted("ike", G_LOG_LEVEL_INFO));
	g_assert_false(vpnd_log_wanted("ike", G_LOG_LEVEL_DEBUG));
	/* a line nobody reads is not even formatted: its arguments are not evaluated */
	vpnd_debug("never %d", counted(&calls));
	vpnd_info("never %d", counted(&calls));
	g_assert_cmpint(calls, ==, 0);

	g_assert_true(log_set_level("ike", LOG_LEVEL_INFO, NULL));
	g_assert_true(vpnd_log_wanted("ike", G_LOG_LEVEL_INFO));
	g_assert_false(vpnd_log_wanted("knl", G_LOG_LEVEL_INFO));
	vpnd_info("once %d", counted(&calls));
	vpnd_debug("never %d", counted(&calls));
	g_assert_cmpint(calls, ==, 1);
	log_reset_levels();
}

static void
test_wanted_by_trace(void)
{
	Trace t = { .lines = g_ptr_array_new_with_free_func(g_free) };

	log_reset_levels();
	guint id = log_trace_add(on_trace, LOG_LEVEL_INFO, &t);
	/* a tracer at info: info lines of every domain are wanted, debug ones are not */
	g_assert_true(vpnd_log_wanted("knl", G_LOG_LEVEL_INFO));
	g_assert_false(vpnd_log_wanted("knl", G_LOG_LEVEL_DEBUG));
	g_info("for the tracer");
	g_debug("not for the tracer");
	g_assert_cmpuint(t.lines->len, ==, 1);
	g_assert_cmpstr(t.lines->pdata[0], ==, "info for the tracer");

	log_trace_set_level(id, LOG_LEVEL_DEBUG);
	g_assert_true(vpnd_log_wanted("knl", G_LOG_LEVEL_DEBUG));
	g_debug("now for the tracer");
	g_assert_cmpuint(t.lines->len, ==, 2);

	log_trace_remove(id);
	g_assert_false(vpnd_log_wanted("knl", G_LOG_LEVEL_INFO));
	g_info("after the tracer left");
	g_assert_cmpuint(t.lines->len, ==, 2);
	g_ptr_array_unref(t.lines);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	log_init(TRUE);
	g_test_add_func("/log/wanted/threshold", test_wanted_by_threshold);
	g_test_add_func("/log/wanted/trace", test_wanted_by_trace);
	return g_test_run();
}
