/*
 * message_facts.h: the facts of a message for the evaluator.
 */
#ifndef PST_MESSAGE_FACTS_H
#define PST_MESSAGE_FACTS_H

#include "eval/eval.h"

struct pst_message;

/* Fill src with callbacks reading facts of m; m is borrowed and must
 * outlive every use of src. */
void pst_message_fact_source(struct pst_message *m, pst_fact_source *src);

#endif
