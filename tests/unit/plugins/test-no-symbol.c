/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A shared object that is not a vpnd plugin: it exports no descriptor. */
#include <vpnd/types.h>

VPND_EXPORT int not_a_plugin(void);

int
not_a_plugin(void)
{
	return 0;
}
