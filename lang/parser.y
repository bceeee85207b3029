/*
 * parser.y: the grammar of the rule language (see doc/postern.rules.5).
 * A pure bison parser with locations; it builds the syntax tree (ast.h)
 * and nothing else: names, types and values are the checker's (check.c).
 *
 * Actions: the keyword actions have productions of their own (they make
 * the argument shapes and the messages of syntax errors); an action whose
 * arguments are strings needs none: its word comes from the action
 * registry (lang/action.h) as an ACTWORD, and action_generic takes the
 * strings its definition asks for (with a target, the tokens its target's
 * definition asks for: substitute). Either way the action's id is the
 * registry's.
 *
 * Error recovery is per statement and per rule: after a syntax error the
 * parser skips to the next ';' or '}' and goes on, so one run reports
 * every error. Nodes live in the tree's arena, so discarded values need no
 * destructor. Expression depth is bounded as nodes are built
 * (pst_ast_expr_op), so the tree walkers that follow may recurse.
 */
%code top {
#include "config.h"
}

%code requires {
#include "lang/ast.h"
#include "lang/parse.h"

/* The arguments of an action read through the registry: its strings, and
 * whether anything else was written; for an action with a target, the
 * first word and regex too, and the shape: a letter a token, in order
 * ('s' string, 'w' word, 'h' header, 'r' regex, 'n' number or code). */
struct pst_act_args {
	pst_ast_str *s[2];
	unsigned n;                   /* strings written (s holds the first two) */
	int other;                    /* a word, number, code or regex too */
	pst_ast_word word;            /* the first word (or header keyword) */
	pst_ast_regex *re;            /* the first regex */
	char shape[8];                /* the first 7 tokens' letters */
};
}

%code {
#include <stdio.h>
#include <string.h>

/* The parser's stack: parentheses and prefix "not" use one slot each. */
#define YYMAXDEPTH 10000

#include "lang/action.h"
#include "util/suggest.h"

int pst_yylex(PST_YYSTYPE *lval, PST_YYLTYPE *lloc, void *scanner);
static void pst_yyerror(PST_YYLTYPE *loc, void *scanner, pst_parse_ctx *ctx, const char *msg);

#define AST (ctx->ast)
#define NEW(T) ((T *)pst_ast_alloc(AST, sizeof(T)))

static pst_ast_value *value_new(pst_parse_ctx *ctx, pst_ast_value_kind kind, const pst_ast_loc *loc);
static pst_ast_expr *test_new(pst_parse_ctx *ctx, const pst_ast_operand *lhs, pst_cmp cmp,
                              const pst_ast_loc *oploc, const pst_ast_loc *loc);
static pst_ast_action *action_new(pst_parse_ctx *ctx, const char *word, const pst_ast_loc *loc);
static pst_ast_action *action_generic(pst_parse_ctx *ctx, const pst_ast_word *w,
                                      const struct pst_act_args *args, const pst_ast_loc *loc);
static void args_add(struct pst_act_args *a, char kind, const pst_ast_word *w, pst_ast_regex *re);
static void rule_add(pst_parse_ctx *ctx, pst_ast_rule *r);
static void unknown_action(pst_parse_ctx *ctx, const pst_ast_word *w);
static void option_add(pst_parse_ctx *ctx, pst_ast_option **head, pst_ast_option ***tail,
                       const pst_ast_word *name, const pst_ast_word *value);
}

%define api.pure full
%define api.prefix {pst_yy}
%define api.token.prefix {T_}
%define api.location.type {pst_ast_loc}
%define parse.error detailed
%locations
%expect 0
%param {void *scanner}
%parse-param {pst_parse_ctx *ctx}

%union {
	pst_ast_word word;
	struct { pst_ast_word w; long long n; } num;
	pst_ast_str *str;
	pst_ast_regex *re;
	pst_ast_value *val;
	struct { pst_ast_value *head, **tail; } vals;
	pst_ast_expr *expr;
	pst_ast_operand opnd;
	pst_ast_action *act;
	struct { pst_ast_action *head, **tail; } acts;
	pst_ast_rule *rule;
	pst_cmp cmp;
	struct { int has; long long code; pst_ast_loc loc; pst_ast_word enh; } code;
	struct pst_act_args args;
	struct { pst_ast_option *head, **tail; } opts;
}

%token <word> IDENT "identifier"
%token <word> IPADDR "IP address"
%token <word> ENHANCED "enhanced status code"
%token <num> NUMBER "number"
%token <str> STRING "string"
%token <re> REGEX "regex"
%token EQ "==" NE "!=" LT "<" GT ">" LE "<=" GE ">="
%token <word> ACCEPT "'accept'" ADD "'add'" ALL "'all'" AND "'and'" ANY "'any'"
%token <word> CONTAINS "'contains'" COUNT "'count'" DISCARD "'discard'"
%token <word> ENDS_WITH "'ends-with'" EXISTS "'exists'" FALSE "'false'" FILE "'file'"
%token <word> HEADER "'header'" IN "'in'" INCLUDE "'include'" LIST "'list'"
%token <word> MATCHES "'matches'" MATCHING "'matching'" MODE "'mode'" NOT "'not'" OR "'or'"
%token <word> PREPEND "'prepend'" QUARANTINE "'quarantine'" REJECT "'reject'"
%token <word> REMOVE "'remove'" REPLACE "'replace'" RULE "'rule'" SET "'set'"
%token <word> STARTS_WITH "'starts-with'" TEMPFAIL "'tempfail'"
%token <word> ACTWORD "action word"
%token <word> TENANT "'tenant'" THEN "'then'" TRUE "'true'" WHEN "'when'"

%left OR
%left AND
%precedence NOT

%type <word> word
%type <opts> options
%type <val> value item
%type <vals> items items_ne
%type <expr> cond test negtest
%type <opnd> operand
%type <cmp> textop
%type <act> action
%type <acts> actions
%type <rule> rule
%type <code> opt_code
%type <str> opt_string
%type <args> junk

%%

file
	: %empty
	| file stmt
	;

stmt
	: setting
	| list
	| include
	| rule			{ rule_add(ctx, $1); }
	| tenant
	| error ';'		{ AST->cur_tenant = NULL; yyerrok; }
	| error '}'		{ AST->cur_tenant = NULL; yyerrok; }
	;

setting
	: IDENT value ';' {
		pst_ast_setting *s = NEW(pst_ast_setting);
		if (s) {
			s->name = $1;
			s->value = $2;
			s->file = ctx->file;
			s->loc = @$;
			*AST->settings_tail = s;
			AST->settings_tail = &s->next;
		}
	}
	;

list
	: LIST IDENT '=' IDENT '{' items '}' opt_semi {
		pst_ast_list *l = NEW(pst_ast_list);
		if (l) {
			l->name = $2;
			l->kind_word = $4;
			l->items = $6.head;
			l->file = l->items_file = ctx->file;
			l->dir = ctx->dir;
			l->loc = @2;
			*AST->lists_tail = l;
			AST->lists_tail = &l->next;
		}
	}
	| LIST IDENT '=' IDENT FILE STRING ';' {
		pst_ast_list *l = NEW(pst_ast_list);
		if (l) {
			l->name = $2;
			l->kind_word = $4;
			l->path = $6;
			l->file = ctx->file;
			l->dir = ctx->dir;
			l->loc = @2;
			*AST->lists_tail = l;
			AST->lists_tail = &l->next;
		}
	}
	;

opt_semi
	: %empty
	| ';'
	;

items
	: %empty		{ $$.head = NULL; $$.tail = NULL; }
	| items_ne
	| items_ne ','
	;

items_ne
	: item			{ $$.head = $1; $$.tail = $1 ? &$1->next : NULL; }
	| items_ne ',' item	{
		$$ = $1;
		if ($3) {
			if ($$.tail)
				*$$.tail = $3;
			else
				$$.head = $3;
			$$.tail = &$3->next;
		}
	}
	;

item
	: value
	;

include
	: INCLUDE STRING ';'	{ if ($2) pst_ast_include(AST, ctx->file, ctx->dir, $2, &@2); }
	;

/* Options after a rule's name or a tenant's domain, in any order: the
 * checker knows their names and values. */
options
	: %empty		{ $$.head = NULL; $$.tail = NULL; }
	| options MODE IDENT	{ $$ = $1; option_add(ctx, &$$.head, &$$.tail, &$2, &$3); }
	| options IDENT word	{ $$ = $1; option_add(ctx, &$$.head, &$$.tail, &$2, &$3); }
	;

rule
	: RULE IDENT options '{' WHEN cond THEN actions ';' '}' {
		$$ = NEW(pst_ast_rule);
		if ($$) {
			$$->name = $2;
			$$->options = $3.head;
			$$->when = $6;
			$$->actions = $8.head;
			$$->loc = @2;
		}
	}
	| RULE IDENT options '{' error '}' { $$ = NULL; yyerrok; }
	;

tenant
	: tenant_head rules '}'	{ AST->cur_tenant = NULL; }
	;

tenant_head
	: TENANT STRING options '{' {
		pst_ast_tenant *t = NEW(pst_ast_tenant);
		if (t) {
			t->domain = $2;
			t->options = $3.head;
			t->file = ctx->file;
			t->loc = @2;
		}
		AST->cur_tenant = t;
	}
	;

rules
	: %empty
	| rules rule		{ rule_add(ctx, $2); }
	| rules error ';'	{ yyerrok; }
	;

cond
	: cond OR cond		{ $$ = pst_ast_expr_op(AST, ctx->file, PST_AX_OR, $1, $3, &@2); }
	| cond AND cond		{ $$ = pst_ast_expr_op(AST, ctx->file, PST_AX_AND, $1, $3, &@2); }
	| NOT cond		{ $$ = pst_ast_expr_op(AST, ctx->file, PST_AX_NOT, $2, NULL, &@1); }
	| '(' cond ')'		{ $$ = $2; }
	| negtest		{ $$ = pst_ast_expr_op(AST, ctx->file, PST_AX_NOT, $1, NULL, &@1); }
	| TRUE			{ $$ = pst_ast_expr_new(AST, PST_AX_TRUE, &@1); }
	| FALSE			{ $$ = pst_ast_expr_new(AST, PST_AX_FALSE, &@1); }
	| test
	;

test
	: operand		{ $$ = test_new(ctx, &$1, PST_CMP_TRUTH, &@1, &@$); }
	| operand EQ value	{ $$ = test_new(ctx, &$1, PST_CMP_EQ, &@2, &@$); if ($$) $$->rhs = $3; }
	| operand NE value	{ $$ = test_new(ctx, &$1, PST_CMP_NE, &@2, &@$); if ($$) $$->rhs = $3; }
	| operand LT value	{ $$ = test_new(ctx, &$1, PST_CMP_LT, &@2, &@$); if ($$) $$->rhs = $3; }
	| operand GT value	{ $$ = test_new(ctx, &$1, PST_CMP_GT, &@2, &@$); if ($$) $$->rhs = $3; }
	| operand LE value	{ $$ = test_new(ctx, &$1, PST_CMP_LE, &@2, &@$); if ($$) $$->rhs = $3; }
	| operand GE value	{ $$ = test_new(ctx, &$1, PST_CMP_GE, &@2, &@$); if ($$) $$->rhs = $3; }
	| operand textop value	{ $$ = test_new(ctx, &$1, $2, &@2, &@$); if ($$) $$->rhs = $3; }
	| operand MATCHES REGEX	{ $$ = test_new(ctx, &$1, PST_CMP_MATCHES, &@2, &@$); if ($$) $$->re = $3; }
	| operand EXISTS	{ $$ = test_new(ctx, &$1, PST_CMP_EXISTS, &@2, &@$); }
	| operand IN IDENT	{ $$ = test_new(ctx, &$1, PST_CMP_IN, &@2, &@$); if ($$) $$->listref = $3; }
	| operand IN '{' items '}' {
		$$ = test_new(ctx, &$1, PST_CMP_IN, &@2, &@$);
		pst_ast_list *l = NEW(pst_ast_list);
		if ($$ && l) {
			l->items = $4.head;
			l->file = l->items_file = ctx->file;
			l->dir = ctx->dir;
			l->loc = @3;
			$$->inl = l;
		}
	}
	;

/* "X not in L" and "X not matches /re/" are "not (X in L)" and so on. */
negtest
	: operand NOT IN IDENT	{ $$ = test_new(ctx, &$1, PST_CMP_IN, &@3, &@$); if ($$) $$->listref = $4; }
	| operand NOT IN '{' items '}' {
		$$ = test_new(ctx, &$1, PST_CMP_IN, &@3, &@$);
		pst_ast_list *l = NEW(pst_ast_list);
		if ($$ && l) {
			l->items = $5.head;
			l->file = l->items_file = ctx->file;
			l->dir = ctx->dir;
			l->loc = @4;
			$$->inl = l;
		}
	}
	| operand NOT MATCHES REGEX { $$ = test_new(ctx, &$1, PST_CMP_MATCHES, &@3, &@$); if ($$) $$->re = $4; }
	| operand NOT textop value { $$ = test_new(ctx, &$1, $3, &@3, &@$); if ($$) $$->rhs = $4; }
	;

textop
	: CONTAINS		{ $$ = PST_CMP_CONTAINS; }
	| STARTS_WITH		{ $$ = PST_CMP_STARTS_WITH; }
	| ENDS_WITH		{ $$ = PST_CMP_ENDS_WITH; }
	;

operand
	: IDENT			{ memset(&$$, 0, sizeof $$); $$.kind = PST_OPND_FACT; $$.fact = $1; $$.loc = @$; }
	| HEADER STRING		{ memset(&$$, 0, sizeof $$); $$.kind = PST_OPND_HEADER; $$.header = $2; $$.quant = PST_Q_FIRST; $$.loc = @$; }
	| ANY HEADER STRING	{ memset(&$$, 0, sizeof $$); $$.kind = PST_OPND_HEADER; $$.header = $3; $$.quant = PST_Q_ANY; $$.loc = @$; }
	| ALL HEADER STRING	{ memset(&$$, 0, sizeof $$); $$.kind = PST_OPND_HEADER; $$.header = $3; $$.quant = PST_Q_ALL; $$.loc = @$; }
	| COUNT '(' HEADER STRING ')' {
		memset(&$$, 0, sizeof $$);
		$$.kind = PST_OPND_COUNT;
		$$.header = $4;
		$$.loc = @$;
	}
	;

value
	: STRING		{ $$ = value_new(ctx, PST_AV_STRING, &@1); if ($$) $$->str = $1; }
	| NUMBER		{ $$ = value_new(ctx, PST_AV_NUMBER, &@1); if ($$) { $$->n = $1.n; $$->word = $1.w; } }
	| IPADDR		{ $$ = value_new(ctx, PST_AV_IP, &@1); if ($$) $$->word = $1; }
	| word			{ $$ = value_new(ctx, PST_AV_WORD, &@1); if ($$) $$->word = $1; }
	;

/* Words that may stand for a value: identifiers, and the keywords that are
 * also result, policy or bool words. */
word
	: IDENT
	| REJECT
	| QUARANTINE
	| DISCARD
	| ACCEPT
	| TRUE
	| FALSE
	;

actions
	: action		{ $$.head = $1; $$.tail = $1 ? &$1->next : NULL; }
	| actions ',' action	{
		$$ = $1;
		if ($3) {
			if ($$.tail)
				*$$.tail = $3;
			else
				$$.head = $3;
			$$.tail = &$3->next;
		}
	}
	;

opt_code
	: %empty		{ memset(&$$, 0, sizeof $$); }
	| NUMBER ENHANCED	{ $$.has = 1; $$.code = $1.n; $$.loc = @1; $$.enh = $2; }
	;

opt_string
	: %empty		{ $$ = NULL; }
	| STRING
	;

action
	: ACCEPT		{ $$ = action_new(ctx, "accept", &@$); }
	| REJECT opt_code opt_string {
		$$ = action_new(ctx, "reject", &@$);
		if ($$) {
			$$->has_code = $2.has;
			$$->code = $2.code;
			$$->code_loc = $2.loc;
			$$->enhanced = $2.enh;
			$$->value = $3;
		}
	}
	| TEMPFAIL opt_code opt_string {
		$$ = action_new(ctx, "tempfail", &@$);
		if ($$) {
			$$->has_code = $2.has;
			$$->code = $2.code;
			$$->code_loc = $2.loc;
			$$->enhanced = $2.enh;
			$$->value = $3;
		}
	}
	| DISCARD		{ $$ = action_new(ctx, "discard", &@$); }
	| QUARANTINE opt_string	{ $$ = action_new(ctx, "quarantine", &@$); if ($$) $$->name = $2; }
	| ADD HEADER STRING STRING {
		$$ = action_new(ctx, "add", &@$);
		if ($$) { $$->name = $3; $$->value = $4; }
	}
	| REMOVE HEADER STRING	{ $$ = action_new(ctx, "remove", &@$); if ($$) $$->name = $3; }
	| REMOVE HEADER STRING MATCHING REGEX {
		$$ = action_new(ctx, "remove", &@$);
		if ($$) { $$->name = $3; $$->re = $5; }
	}
	| REPLACE HEADER STRING STRING {
		$$ = action_new(ctx, "replace", &@$);
		if ($$) { $$->name = $3; $$->value = $4; }
	}
	| SET IDENT STRING {
		$$ = action_new(ctx, "set", &@$);
		if ($$) { $$->target = $2; $$->value = $3; }
	}
	| PREPEND IDENT STRING {
		$$ = action_new(ctx, "prepend", &@$);
		if ($$) { $$->target = $2; $$->value = $3; }
	}
	| ACTWORD junk		{ $$ = action_generic(ctx, &$1, &$2, &@$); }
	| IDENT junk		{ unknown_action(ctx, &$1); $$ = NULL; }
	;

/* The arguments of an action read through the registry, and what may
 * follow a misspelt action word (skipped after the one error). */
junk
	: %empty		{ memset(&$$, 0, sizeof $$); }
	| junk STRING		{ $$ = $1; if ($$.n < 2) $$.s[$$.n] = $2; $$.n++; args_add(&$$, 's', NULL, NULL); }
	| junk NUMBER		{ $$ = $1; args_add(&$$, 'n', NULL, NULL); }
	| junk ENHANCED		{ $$ = $1; args_add(&$$, 'n', NULL, NULL); }
	| junk IDENT		{ $$ = $1; args_add(&$$, 'w', &$2, NULL); }
	| junk HEADER		{ $$ = $1; args_add(&$$, 'h', &$2, NULL); }
	| junk REGEX		{ $$ = $1; args_add(&$$, 'r', NULL, $2); }
	;

%%

static void pst_yyerror(PST_YYLTYPE *loc, void *scanner, pst_parse_ctx *ctx, const char *msg)
{
	(void)scanner;
	if (strcmp(msg, "memory exhausted") == 0)
		pst_parse_error(ctx, loc, "nested too deeply: the parser holds at most %d open "
		                "levels; the rest of the file is not read", YYMAXDEPTH);
	else
		pst_parse_error(ctx, loc, "%s", msg);
}

static pst_ast_value *value_new(pst_parse_ctx *ctx, pst_ast_value_kind kind, const pst_ast_loc *loc)
{
	pst_ast_value *v = NEW(pst_ast_value);
	if (v) {
		v->kind = kind;
		v->loc = *loc;
	}
	return v;
}

static pst_ast_expr *test_new(pst_parse_ctx *ctx, const pst_ast_operand *lhs, pst_cmp cmp,
                              const pst_ast_loc *oploc, const pst_ast_loc *loc)
{
	pst_ast_expr *e = pst_ast_expr_new(AST, PST_AX_TEST, loc);
	if (e) {
		e->lhs = *lhs;
		e->cmp = cmp;
		e->oploc = *oploc;
	}
	return e;
}

/* An action of the definition written with word (for a word with targets,
 * the first: the checker resolves the target). */
static pst_ast_action *action_new(pst_parse_ctx *ctx, const char *word, const pst_ast_loc *loc)
{
	const pst_action_def *def = pst_action_find(word, strlen(word), NULL);
	if (def == NULL) {
		/* A production names a word the registry lacks: a bug, said so. */
		pst_parse_error(ctx, loc, "internal error: no action is written '%s'", word);
		return NULL;
	}
	pst_ast_action *a = NEW(pst_ast_action);
	if (a) {
		a->kind = def->id;
		a->loc = *loc;
	}
	return a;
}

static void args_add(struct pst_act_args *a, char kind, const pst_ast_word *w, pst_ast_regex *re)
{
	size_t n = strlen(a->shape);
	if (kind != 's')
		a->other = 1;
	if (w && a->word.s == NULL)
		a->word = *w;
	if (re && a->re == NULL)
		a->re = re;
	if (n + 1 < sizeof a->shape)
		a->shape[n] = kind;
}

/* An action with a target (substitute TARGET ...): the target is its
 * first word (or the header keyword); the definition of that target says
 * what follows, in order: a name, a regex, a value, all required. An
 * unknown target is left to the checker (which names the targets). */
static pst_ast_action *action_targeted(pst_parse_ctx *ctx, const pst_action_def *first,
                                       const struct pst_act_args *args, const pst_ast_loc *loc)
{
	char t = args->shape[0];
	if ((t != 'w' && t != 'h') || args->word.s == NULL) {
		char targets[160] = "";
		size_t len = 0;
		for (size_t k = 0; k < PST_ACT__COUNT && len < sizeof targets; k++) {
			const pst_action_def *d = pst_action_get((pst_action_kind)k);
			if (d->target && strcmp(d->word, first->word) == 0)
				len += (size_t)snprintf(targets + len, sizeof targets - len, "%s%s",
				                        len ? " or " : "", d->target);
		}
		pst_parse_error(ctx, loc, "%s needs a target first: %s", first->word, targets);
		return NULL;
	}
	pst_ast_action *a = action_new(ctx, first->word, loc);
	if (a == NULL)
		return NULL;
	a->target = args->word;
	const pst_action_def *def = pst_action_find(first->word, strlen(first->word), args->word.s);
	if (def == NULL)
		return a;
	char want[8] = { t }, usage[160];
	size_t n = 1;
	int len = snprintf(usage, sizeof usage, "%s", def->name);
	if (def->args & PST_ARG_NAME) {
		want[n++] = 's';
		len += snprintf(usage + len, sizeof usage - (size_t)len, " \"NAME\"");
	}
	if (def->args & PST_ARG_REGEX) {
		want[n++] = 'r';
		len += snprintf(usage + len, sizeof usage - (size_t)len, " /REGEX/FLAGS");
	}
	if (def->args & PST_ARG_VALUE) {
		want[n++] = 's';
		snprintf(usage + len, sizeof usage - (size_t)len, " \"TEXT\"");
	}
	if (strcmp(want, args->shape) != 0) {
		pst_parse_error(ctx, loc, "%s is written: %s", def->name, usage);
		return NULL;
	}
	if (def->args & PST_ARG_NAME)
		a->name = args->s[0];
	if (def->args & PST_ARG_VALUE)
		a->value = args->s[args->n - 1];
	a->re = args->re;
	return a;
}

/* An action that has no production of its own (lang/action.h): its
 * definition says how many strings it takes, a name and/or a value; or,
 * with a target, action_targeted. */
static pst_ast_action *action_generic(pst_parse_ctx *ctx, const pst_ast_word *w,
                                      const struct pst_act_args *args, const pst_ast_loc *loc)
{
	const pst_action_def *def = pst_action_find(w->s, w->len, NULL);
	unsigned simple = PST_ARG_NAME | PST_ARG_NAME_OPT | PST_ARG_VALUE;
	if (def && (def->args & PST_ARG_TARGET))
		return action_targeted(ctx, def, args, loc);
	if (def == NULL || (def->args & ~simple)) {
		pst_parse_error(ctx, &w->loc, "action '%s' needs a production of its own in the "
		                "grammar", w->s);
		return NULL;
	}
	unsigned most = !!(def->args & PST_ARG_NAME) + !!(def->args & PST_ARG_VALUE);
	unsigned least = most - !!(def->args & PST_ARG_NAME_OPT);
	if (args->other || args->n < least || args->n > most) {
		static const char *const strings[] = { "no string", "one string", "two strings" };
		pst_parse_error(ctx, loc, "%s takes %s%s", def->name, least < most ? "at most " : "",
		                strings[most]);
		return NULL;
	}
	pst_ast_action *a = action_new(ctx, def->word, loc);
	if (a == NULL)
		return NULL;
	unsigned i = 0;
	if ((def->args & PST_ARG_NAME) && args->n > (def->args & PST_ARG_VALUE ? 1u : 0u))
		a->name = args->s[i++];
	if (def->args & PST_ARG_VALUE)
		a->value = args->s[i];
	return a;
}

/* The words actions start with, once each, for the did-you-mean. */
static size_t action_words(const char **words)
{
	size_t n = 0;
	for (size_t k = 0; k < PST_ACT__COUNT; k++) {
		const char *w = pst_action_get((pst_action_kind)k)->word;
		size_t j = 0;
		while (j < n && strcmp(words[j], w) != 0)
			j++;
		if (j == n)
			words[n++] = w;
	}
	return n;
}

static void unknown_action(pst_parse_ctx *ctx, const pst_ast_word *w)
{
	const char *words[PST_ACT__COUNT];
	size_t n = action_words(words);
	const char *s = pst_suggest(w->s, w->len, words, n);
	if (s)
		pst_parse_error(ctx, &w->loc, "unknown action '%s'; did you mean '%s'?", w->s, s);
	else
		pst_parse_error(ctx, &w->loc, "unknown action '%s'", w->s);
}

/* Append an option "NAME VALUE" to the list *head (*tail: the last
 * option's next, NULL while the list is empty). */
static void option_add(pst_parse_ctx *ctx, pst_ast_option **head, pst_ast_option ***tail,
                       const pst_ast_word *name, const pst_ast_word *value)
{
	pst_ast_option *o = NEW(pst_ast_option);
	if (o == NULL)
		return;
	o->name = *name;
	o->value = *value;
	if (*tail)
		**tail = o;
	else
		*head = o;
	*tail = &o->next;
}

static void rule_add(pst_parse_ctx *ctx, pst_ast_rule *r)
{
	if (r == NULL)
		return;
	r->file = ctx->file;
	r->tenant = AST->cur_tenant;
	*AST->rules_tail = r;
	AST->rules_tail = &r->next;
	AST->nrules++;
}

int pst_parse_run(pst_parse_ctx *ctx, void *scanner)
{
	return pst_yyparse(scanner, ctx);
}
