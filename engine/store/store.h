/*
 * store.h: the DMARC report store: one row per evaluated message, for the
 * RFC 9990 aggregate reports of "postern report dmarc".
 *
 * A store is opened from a spec "SCHEME:TARGET" ("sqlite:/var/lib/postern/
 * reports.db") or a URI "SCHEME://..." passed whole to its backend
 * ("postgresql://postern@db/reports", also "postgres://"), each scheme one
 * backend file behind pst_store_backend (store_sqlite.c, store_pg.c). Rows are handed over by
 * pst_store_submit(), which never blocks: a bounded queue feeds one writer
 * thread that writes them in batches, one transaction per batch; woken by
 * a first row, the writer waits up to PST_STORE_LINGER_MS for a full
 * batch, so a row is written that long after its submit at most, when the
 * backend keeps up (the cost of a transaction is then shared by the rows
 * of a busy server's last PST_STORE_LINGER_MS). A full
 * queue drops the row (counted); a backend failure (busy past its timeout,
 * a read-only or full disk) fails the batch (counted, a rate-limited
 * warning through the log callback) and the connection is opened again for
 * the next batch. The store never tells its caller to delay or fail mail.
 *
 * Threads: submit, stats and the log callback may run on any thread; the
 * backend is only ever called from the writer thread (or from open/close).
 */
#ifndef PST_STORE_H
#define PST_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PST_STORE_SCHEMA_VERSION 1
#define PST_STORE_MAX_DKIM       8      /* DKIM signatures kept per row (child rows) */
#define PST_STORE_QUEUE_MAX      4096   /* rows waiting for the writer */
#define PST_STORE_BATCH_MAX      256    /* rows per transaction */
#define PST_STORE_LINGER_MS      100    /* the writer's wait for a full batch */
#define PST_STORE_DOMAIN_MAX     256    /* a domain: 253 and the NUL, rounded */
#define PST_STORE_TEXT_MAX       128    /* a result word, a reason comment */
#define PST_STORE_URI_MAX        1024   /* the rua tag as published */

/* One DKIM signature (RFC 9990 <auth_results><dkim>). */
typedef struct pst_store_dkim {
	char domain[PST_STORE_DOMAIN_MAX];   /* d= */
	char selector[PST_STORE_DOMAIN_MAX]; /* s= */
	char result[16];                     /* pass fail policy neutral temperror permerror none */
	char human[PST_STORE_TEXT_MAX];      /* why ("body hash mismatch"), or "" */
} pst_store_dkim;

/* The DMARC record as published (RFC 9990 <policy_published>). Empty
 * strings are tags the record did not give; found 0 means no record. */
typedef struct pst_store_policy {
	int found;
	char p[16], sp[16], np[16];          /* none quarantine reject */
	char adkim[2], aspf[2];              /* "r" or "s", "" when absent */
	char testing[2];                     /* t=: "y" / "n", "" when absent */
	char fo[16];
	int pct;                             /* -1 when absent */
	char rua[PST_STORE_URI_MAX];
} pst_store_policy;

/* One message. Every string is a NUL-terminated copy, "" for unknown
 * (written as NULL); pst_store_row_set() truncates to the field. */
typedef struct pst_store_row {
	time_t time;                         /* when the message was evaluated */
	char host[PST_STORE_DOMAIN_MAX];     /* the receiving host name */
	char queue_id[32];                   /* postern's queue id */
	char reporting_domain[PST_STORE_DOMAIN_MAX]; /* where the record was found,
	                                      * else the header From domain */
	pst_store_policy policy;
	char source_ip[64];
	char header_from[PST_STORE_DOMAIN_MAX];
	char envelope_from[PST_STORE_DOMAIN_MAX]; /* the MAIL FROM domain, "" for <> */
	char envelope_to[PST_STORE_DOMAIN_MAX];   /* the first recipient's domain */
	char spf_result[16];
	char spf_domain[PST_STORE_DOMAIN_MAX];
	char spf_scope[8];                   /* "mfrom", or "helo" for the null sender */
	char spf_human[PST_STORE_TEXT_MAX];
	int spf_aligned, dkim_aligned;       /* 1 / 0 */
	char dmarc_result[16];               /* pass fail none temperror permerror */
	char dmarc_policy[16];               /* the policy that applied (p, sp or np,
	                                      * after pct), "" without a record */
	char disposition[16];                /* RFC 9990: none quarantine reject */
	char decision[16], applied[16];      /* postern's actions (strictest recipient) */
	char rule[PST_STORE_TEXT_MAX];       /* the deciding rule, "" for none */
	char reason_type[32];                /* RFC 9990 PolicyOverrideType, or "" */
	char reason_comment[PST_STORE_TEXT_MAX];
	pst_store_dkim dkim[PST_STORE_MAX_DKIM]; /* the first ndkim are read, the
	                                      * others never (they need no zeroing) */
	size_t ndkim;
	size_t dkim_ignored;                 /* signatures past PST_STORE_MAX_DKIM */
} pst_store_row;

/* Copy s (n bytes, or up to its NUL when n is (size_t)-1; NULL is "") into
 * field (size len), cut at len - 1 bytes; bytes outside printable ASCII
 * become '?'. Returns 1 when cut, 0 otherwise. */
int pst_store_row_set(char *field, size_t len, const char *s, size_t n);

/* Fill *pol from a DMARC TXT record ("v=DMARC1; p=reject; ..."), tags read
 * as RFC 9989 lists them (unknown tags ignored, the first of a repeated
 * tag wins, values trimmed). 0, or -1 when txt is not a DMARC1 record
 * (pol->found is then 0). */
int pst_store_policy_parse(const char *txt, pst_store_policy *pol);

/* Set reason_type and reason_comment from the row's DMARC result, the
 * policy that applied (dmarc_policy), the published t= flag, the
 * disposition, decision, applied action and rule: both "" when the
 * disposition is what the DMARC policy asks (the policy's word when DMARC
 * failed, else none). Otherwise (RFC 9990 PolicyOverrideType):
 * local_policy "after-queue: reject applied as quarantine" when the
 * policy decided reject and the copy was kept in quarantine (postern lmtp
 * cannot refuse after the queue); policy_test_mode "t=y" when the record
 * has t=y and less than its policy was applied; else local_policy with
 * "rule NAME" or "no rule enforced the DMARC policy". */
void pst_store_row_reason(pst_store_row *row);

/* ---- Backends ----------------------------------------------------- */

/* Called by a scan for each row: id is the row's key in the store. 0 goes
 * on, -1 stops the scan (which then returns -1). row is valid for the call
 * only. */
typedef int (*pst_store_scan_fn)(void *arg, int64_t id, const pst_store_row *row);

/* A backend. open connects (creating or checking the schema) and returns
 * its handle in *impl; each call returns 0 or -1 with a reason in err.
 * begin/insert/commit frame one batch; rollback undoes a failed one;
 * close releases the handle (and accepts NULL). A uri backend is named by
 * "scheme://" or "alias://" and gets the whole spec as its target; other
 * backends by "scheme:" and get what follows the colon. */
typedef struct pst_store_backend {
	const char *scheme;                  /* "sqlite", "postgresql" */
	const char *alias;                   /* another name ("postgres"), or NULL */
	int uri;                             /* 1: the target is the whole spec */
	int (*open)(const char *target, void **impl, char *err, size_t errlen);
	int (*begin)(void *impl, char *err, size_t errlen);
	int (*insert)(void *impl, const pst_store_row *row, char *err, size_t errlen);
	int (*commit)(void *impl, char *err, size_t errlen);
	void (*rollback)(void *impl);
	void (*close)(void *impl);
	/* The reading side (postern report dmarc; see pst_store_reader below).
	 * scan calls fn for each row with reported = 0 and begin <= time <
	 * end, ordered by reporting_domain (bytewise, NULL first), then time,
	 * then id, its DKIM child rows in row->dkim; fn may call mark (a scan
	 * reads on a connection of its own; a backend may keep such marks and
	 * write them when the scan ends, a failure then failing the scan).
	 * mark sets reported = 1 on the n rows of ids, in one transaction;
	 * expire deletes every row (and its children) with time < before,
	 * putting the count in *deleted. 0 or -1 with a reason. */
	int (*scan)(void *impl, time_t begin, time_t end, pst_store_scan_fn fn, void *arg,
	            char *err, size_t errlen);
	int (*mark)(void *impl, const int64_t *ids, size_t n, char *err, size_t errlen);
	int (*expire)(void *impl, time_t before, unsigned long *deleted, char *err,
	              size_t errlen);
} pst_store_backend;

extern const pst_store_backend pst_store_sqlite;
extern const pst_store_backend pst_store_pg;

/* ---- The store ------------------------------------------------------- */

typedef struct pst_store pst_store;

/* Called from the writer thread for each row before it is written (e.g.
 * to look up the DMARC record as published). */
typedef void (*pst_store_prepare_fn)(void *arg, pst_store_row *row);
/* Called with a warning text (one line, no newline) from the writer thread. */
typedef void (*pst_store_warn_fn)(void *arg, const char *text);

typedef struct pst_store_opts {
	pst_store_prepare_fn prepare;        /* or NULL */
	pst_store_warn_fn warn;              /* or NULL */
	void *arg;                           /* for both */
	unsigned warn_interval;              /* seconds between warnings (0: 60) */
	size_t queue_max;                    /* 0: PST_STORE_QUEUE_MAX */
} pst_store_opts;

typedef struct pst_store_stats {
	unsigned long written;               /* rows committed */
	unsigned long dropped;               /* rows refused: the queue was full */
	unsigned long failed;                /* rows lost to a backend failure */
	unsigned long queued;                /* rows waiting now */
} pst_store_stats;

/* Open the store of spec, once (the schema is created or checked now, so
 * a bad path or a newer schema is an error at start), and start its
 * writer thread. 0 with *out the caller's (pst_store_close), or -1 with a
 * reason in err. opts may be NULL; it is copied. */
int pst_store_open(const char *spec, const pst_store_opts *opts, pst_store **out,
                   char *err, size_t errlen);

/* Hand row over (the store takes it: malloc'd by the caller, freed by the
 * store in every case). Never blocks on the backend: when the queue is
 * full, or after pst_store_stop, the row is dropped and counted; row NULL
 * (the caller could not allocate one) is counted as dropped too. 0 when
 * queued, -1 when dropped. */
int pst_store_submit(pst_store *s, pst_store_row *row);

void pst_store_get_stats(pst_store *s, pst_store_stats *out);

/* Copy spec into out (size len, cut) with the password of a URI
 * ("scheme://user:PASSWORD@host...") replaced by "***"; other specs are
 * copied as they are. */
void pst_store_mask(const char *spec, char *out, size_t len);

/* Stop: the writer writes what is queued for at most drain_ms; what is
 * left then is counted as dropped, and the backend is closed. Submitting
 * afterwards drops; pst_store_get_stats() still answers. Accepts NULL;
 * a second call does nothing. */
void pst_store_stop(pst_store *s, unsigned drain_ms);

/* Stop (without draining, when pst_store_stop was not called) and free
 * *s, setting it to NULL. Accepts NULL. */
void pst_store_close(pst_store **s);

/* ---- Reading (postern report dmarc) ---------------------------------- */

/* A connection for reading and marking rows, with no writer thread: any
 * number of readers and writers may use one store at once (SQLite WAL,
 * PostgreSQL). A reader belongs to one thread. */
typedef struct pst_store_reader pst_store_reader;

/* Open spec as pst_store_open does (the schema is created when missing, a
 * newer one refused). 0 with *out the caller's (pst_store_reader_close),
 * or -1 with a reason in err. */
int pst_store_reader_open(const char *spec, pst_store_reader **out, char *err, size_t errlen);
/* The backend's scan, mark and expire (see pst_store_backend). */
int pst_store_scan(pst_store_reader *r, time_t begin, time_t end, pst_store_scan_fn fn,
                   void *arg, char *err, size_t errlen);
int pst_store_mark(pst_store_reader *r, const int64_t *ids, size_t n, char *err,
                   size_t errlen);
int pst_store_expire(pst_store_reader *r, time_t before, unsigned long *deleted, char *err,
                     size_t errlen);
/* Close and free *r, setting it to NULL. Accepts NULL. */
void pst_store_reader_close(pst_store_reader **r);

#endif
