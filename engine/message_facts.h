/*
 * message_facts.h: the facts of a message for the evaluator, one provider
 * per fact of the registry (lang/facts/registry.h).
 */
#ifndef PST_MESSAGE_FACTS_H
#define PST_MESSAGE_FACTS_H

#include "eval/eval.h"

struct pst_message;

/* Fill src with callbacks reading facts of m; m is borrowed and must
 * outlive every use of src. */
void pst_message_fact_source(struct pst_message *m, pst_fact_source *src);

/* 1 when the message layer computes fact f: a MESSAGE fact with its
 * provider here, or an AUTH fact with its provider in the auth layer
 * (pst_auth_fact_provided); 0 for RCPT facts (the evaluator's) and for
 * what is not a fact. Static. */
int pst_message_fact_provided(pst_fact f);

#endif
