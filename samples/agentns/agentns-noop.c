// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest program execve(2) can run: exit(0) with no C library, so
 * that agentns-bench's execve loop measures the kernel, not libc start-up.
 * Build: gcc -static -nostdlib -O2 -o agentns-noop agentns-noop.c
 */
void _start(void)
{
	asm volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
	__builtin_unreachable();
}
