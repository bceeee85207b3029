/*
 * listen.h: a listening socket from an address as postern lmtp's --listen
 * and --metrics take it (engine/lmtp/server.c), for the other servers too
 * (postern milter --metrics).
 */
#ifndef PST_LMTP_LISTEN_H
#define PST_LMTP_LISTEN_H

/* Bind and listen on addr ("127.0.0.1:9425", "[::1]:9425", "unix:PATH";
 * the port a number from 1 to 65535; a stale Unix socket is replaced and
 * the new one gets mode): 0 with *fd (nonblocking, close-on-exec) and
 * *is_unix set, or -1 after printing why, prefixed with prog ("postern
 * milter") and naming opt ("--metrics"). */
int pst_listen_addr(const char *prog, const char *opt, const char *addr, unsigned mode, int *fd,
                    int *is_unix);

#endif
