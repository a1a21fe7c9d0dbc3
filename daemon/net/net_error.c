/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "net_error.h"

G_DEFINE_QUARK(vpnd - net - error - quark, net_error)
