/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the loader's test plugins register as VPND_PROVIDER_TEST ops. */
#pragma once

#include <vpnd/plugin.h>

typedef struct {
	int (*answer)(void);
} TestOps;
