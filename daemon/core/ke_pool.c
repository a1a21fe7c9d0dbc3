/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/crypto.h"
#include "core/ke_pool.h"

/* Groups in use at once are few; a pool that saw more forgets the first it saw. */
#define KE_POOL_MAX_GROUPS 8
/* A pair is made this long after one was taken: not in the middle of the handshake
 * that took it, which waits for its peer only a fraction of a millisecond at a time. */
#define KE_POOL_REFILL_DELAY_MS 10

typedef struct {
	const HostProvider *provider; /* borrowed: the host outlives its pool */
	VpndKeId id;
	VpndKe *ready; /* (nullable) made ahead, not handed out yet */
} PoolEntry;

struct KePool {
	GArray *entries; /* PoolEntry, in the order the groups were first asked for */
	GMainContext *context;
	GSource *refill; /* (nullable) while entries wait for a pair */
};

KePool *
ke_pool_new(void)
{
	KePool *pool = g_new0(KePool, 1);

	pool->entries = g_array_new(FALSE, TRUE, sizeof(PoolEntry));
	pool->context = g_main_context_ref_thread_default();
	return pool;
}

static void
entry_clear(PoolEntry *e)
{
	g_clear_pointer(&e->ready, vpnd_ke_free);
}

void
ke_pool_free(KePool *pool)
{
	if (!pool)
		return;
	if (pool->refill) {
		g_source_destroy(pool->refill);
		g_source_unref(pool->refill);
	}
	for (guint i = 0; i < pool->entries->len; i++)
		entry_clear(&g_array_index(pool->entries, PoolEntry, i));
	g_array_unref(pool->entries);
	g_main_context_unref(pool->context);
	g_free(pool);
}

/* One pair per call (one group every KE_POOL_REFILL_DELAY_MS), so a slow group
 * (MODP-8192) holds the loop up once at a time. */
static gboolean
refill_one(gpointer user_data)
{
	KePool *pool = user_data;

	for (guint i = 0; i < pool->entries->len; i++) {
		PoolEntry *e = &g_array_index(pool->entries, PoolEntry, i);
		g_autoptr(GError) error = NULL;

		if (e->ready)
			continue;
		e->ready = crypto_provider_ops(e->provider)->ke_new(e->id, &error);
		if (!e->ready) /* it worked a moment ago; try again with the next take */
			g_array_remove_index(pool->entries, i);
		return G_SOURCE_CONTINUE;
	}
	g_clear_pointer(&pool->refill, g_source_unref);
	return G_SOURCE_REMOVE;
}

/* @delay_ms: 0 when nothing is under way (a group prepared), else after a take */
static void
schedule_refill(KePool *pool, guint delay_ms)
{
	if (pool->refill)
		return;
	/* below every I/O source: a pair is made only when nothing else waits */
	pool->refill = g_timeout_source_new(delay_ms);
	g_source_set_priority(pool->refill, G_PRIORITY_LOW);
	g_source_set_callback(pool->refill, refill_one, pool, NULL);
	g_source_set_static_name(pool->refill, "vpnd key exchange pool");
	g_source_attach(pool->refill, pool->context);
}

static PoolEntry *
find_entry(KePool *pool, const HostProvider *provider, VpndKeId id)
{
	for (guint i = 0; i < pool->entries->len; i++) {
		PoolEntry *e = &g_array_index(pool->entries, PoolEntry, i);
		if (e->provider == provider && e->id == id)
			return e;
	}
	if (pool->entries->len == KE_POOL_MAX_GROUPS) {
		entry_clear(&g_array_index(pool->entries, PoolEntry, 0));
		g_array_remove_index(pool->entries, 0);
	}
	PoolEntry fresh = { .provider = provider, .id = id };
	g_array_append_val(pool->entries, fresh);
	return &g_array_index(pool->entries, PoolEntry, pool->entries->len - 1);
}

VpndKe *
ke_pool_take(KePool *pool, const HostProvider *provider, VpndKeId id)
{
	PoolEntry *e = find_entry(pool, provider, id);
	VpndKe *ke = g_steal_pointer(&e->ready);

	schedule_refill(pool, KE_POOL_REFILL_DELAY_MS);
	return ke;
}

void
ke_pool_prepare(KePool *pool, const HostProvider *provider, VpndKeId id)
{
	if (!find_entry(pool, provider, id)->ready)
		schedule_refill(pool, 0);
}

guint
ke_pool_n_ready(KePool *pool)
{
	guint n = 0;

	for (guint i = 0; i < pool->entries->len; i++)
		n += g_array_index(pool->entries, PoolEntry, i).ready != NULL;
	return n;
}
