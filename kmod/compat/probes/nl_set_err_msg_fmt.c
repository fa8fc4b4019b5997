// SPDX-License-Identifier: GPL-2.0
/* Extended acks can carry a formatted message (6.2+). */
#include <linux/netlink.h>

void probe(struct netlink_ext_ack *extack);
void probe(struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG_FMT(extack, "pool %u", 1U);
}
