/*
 * hdrdiff.h: the milter header operations that turn the header section a
 * milter was given into the one postern rendered (engine/milter/hdrdiff.c).
 */
#ifndef PST_MILTER_HDRDIFF_H
#define PST_MILTER_HDRDIFF_H

#include <stddef.h>

typedef enum pst_hdrop_kind {
	PST_HDROP_CHANGE,       /* smfi_chgheader(name, index, value); value NULL deletes */
	PST_HDROP_INSERT,       /* smfi_insheader(index, name, value) */
	PST_HDROP_ADD,          /* smfi_addheader(name, value): at the end */
} pst_hdrop_kind;

typedef struct pst_hdrop {
	pst_hdrop_kind kind;
	char *name;             /* malloc'd */
	char *value;            /* malloc'd, folded lines joined by "\n"; NULL: delete */
	int index;              /* CHANGE: 1-based among fields of that name;
	                         * INSERT: 0-based position in the header list */
} pst_hdrop;

/* The operations, in the order to apply them, that turn the header section
 * of orig into that of rend (each a whole message or its header section,
 * CRLF or LF). *ops is malloc'd (pst_hdrops_free); *nops may be 0. 0, or
 * -1 on ENOMEM. */
int pst_hdrdiff(const char *orig, size_t olen, const char *rend, size_t rlen,
                pst_hdrop **ops, size_t *nops);

void pst_hdrops_free(pst_hdrop *ops, size_t nops);

#endif
