// SPDX-License-Identifier: GPL-2.0
/* Sockets can be kept off current->task_frag (6.2+, some stable trees). */
#include <net/sock.h>

void probe(struct sock *sk);
void probe(struct sock *sk)
{
	sk->sk_use_task_frag = false;
}
