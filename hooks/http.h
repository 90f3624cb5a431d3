/*
 * http.h - HTTP/1.x on watched sockets: server and client spans, and the
 * insertion of trace context header lines into outgoing heads without ever
 * changing what the program sees (FIELD-NOTES section 2).
 *
 * The socket hooks (net.c) call these with a watched connection
 * (hooks/conn.h); everything here runs with the connection's lock taken
 * only around bookkeeping, never across a system call.
 */
#ifndef HK_HTTP_H
#define HK_HTTP_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "conn.h"

/* Which call the program made. */
enum hk_how {
	HK_WRITE,
	HK_WRITEV,
	HK_SEND,
	HK_SENDTO,
	HK_SENDMSG,
};

/* An outgoing write as the program made it: enough to repeat the call
 * unchanged (hk_out_orig) or to rewrite it with the same semantics. */
struct hk_out_call {
	enum hk_how how;
	int fd;
	const struct iovec *iov;	/* the program's bytes */
	int iovcnt;
	bool is_send;			/* send/sendto/sendmsg: flags apply */
	int flags;			/* MSG_* of the program's call */
	const struct msghdr *msg;	/* HK_SENDMSG: the program's message */
	const struct sockaddr *to;	/* HK_SENDTO */
	socklen_t tolen;
};

/* Perform the program's call exactly as made (net.c). */
ssize_t hk_out_orig(const struct hk_out_call *call);

/*
 * An outgoing write on watched connection c, with generation gen as found
 * by the hook. Sends the program's bytes with any header lines due inserted
 * and returns exactly what the program must see: the number of its own
 * bytes written, or -1 with errno. Never counts inserted bytes.
 */
ssize_t hk_http_write(struct hk_conn *c, uint32_t gen, const struct hk_out_call *call);

/*
 * n bytes were read into iov[0..iovcnt) on c (n > 0), or the peer closed
 * (n == 0), or the read failed with err (n < 0; EAGAIN/EINTR are not
 * failures). Updates the incoming parser: server spans start, client spans
 * end. Never touches the bytes.
 */
void hk_http_read(struct hk_conn *c, uint32_t gen, const struct iovec *iov, int iovcnt,
		  ssize_t n, int err);

/* n bytes went out on c without passing through a write hook (sendfile,
 * splice): a body the parser counts but cannot see. */
void hk_http_sent_unseen(struct hk_conn *c, uint32_t gen, uint64_t n);

/* The program shut down its writing side (shutdown SHUT_WR/SHUT_RDWR): a
 * response delimited by the close is complete. */
void hk_http_shutdown_write(struct hk_conn *c, uint32_t gen);

/* The connection goes away (close, or its fd reused): end every open span
 * (with error_type when the exchange was not complete), drop pending
 * insertions. Called with c locked. */
void hk_http_close(struct hk_conn *c, const char *error_type);

#endif
