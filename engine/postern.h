/*
 * postern.h: the postern library API.
 *
 * postern decides, per message and per recipient, what to do with mail given
 * who sent it and how (SPF, DKIM, DMARC, the client IP, the headers), using a
 * compiled rule file. This is the only installed header.
 *
 * Conventions: every pointer a function returns says who owns it. Objects
 * are freed by pst_*_free(&ptr), which sets ptr to NULL and accepts NULL.
 * Functions return 0 on success and -1 on failure unless stated otherwise.
 */
#ifndef POSTERN_H
#define POSTERN_H

#ifdef __cplusplus
extern "C" {
#endif

/* The library version, "MAJOR.MINOR.PATCH". Static storage. */
const char *pst_version(void);

#ifdef __cplusplus
}
#endif

#endif
