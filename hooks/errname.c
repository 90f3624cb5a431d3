/*
 * errname.c - errno names for error.type.
 */
#include <string.h>

#include "hook.h"

const char *hk_errno_name(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "_OTHER";
}
