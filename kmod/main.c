// SPDX-License-Identifier: GPL-2.0
/*
 * shard: a network block device client for the shard distributed store.
 * Init is a ladder; exit climbs back down it.
 */
#include <linux/module.h>

#include "client.h"
#include "dev.h"
#include "netlink.h"

static int __init shard_init(void)
{
	int ret;

	ret = shard_client_init();
	if (ret)
		return ret;
	ret = shard_dev_init();
	if (ret)
		goto err_client;
	ret = shard_nl_init();
	if (ret)
		goto err_dev;
	pr_info("loaded\n");
	return 0;

err_dev:
	shard_dev_exit();
err_client:
	shard_client_exit();
	return ret;
}

static void __exit shard_exit(void)
{
	shard_nl_exit();
	shard_client_exit();
	shard_dev_exit();
}

module_init(shard_init);
module_exit(shard_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("shard distributed block device client");
MODULE_AUTHOR("The shard authors");
