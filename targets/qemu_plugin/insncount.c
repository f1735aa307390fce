/*
 * insncount.c - a QEMU TCG plugin (API version 1, QEMU 7.x) that counts
 * executed guest instructions between marker functions.
 *
 *   gcc -shared -fPIC -O2 -fvisibility=hidden -o libinsncount.so insncount.c
 *   qemu-system-arm ... -plugin ./libinsncount.so,mark=0x1f0:0x1f4,mark=...,out=counts.txt
 *
 * Arguments:
 *   mark=BEGIN:END  addresses (hex or decimal, the Thumb bit ignored) of a
 *                   pair of marker functions; repeat for more pairs (at
 *                   most MAX_PAIRS).  Pair i is numbered in argument order.
 *   out=PATH        write the results there (default: QEMU's log, -d plugin).
 *
 * Counting: every executed instruction adds one to a 64-bit counter through
 * an inline add attached to the instruction itself, so the count is exact
 * even when a translation block is left early (exceptions, semihosting).
 * When the first instruction of BEGIN executes, pair i opens (the counter
 * is noted); when the first instruction of END executes, it closes and
 * records the difference.  A region thus counts BEGIN's own instructions
 * (a bare `bx lr`: 1), everything the program does up to the call of END,
 * and that call; an empty region (BEGIN(); END();) measures this overhead.
 * Pairs are independent, so regions of different pairs may nest.
 *
 * Output, one line each:
 *   total N            instructions executed in the whole run
 *   region I N         pair I closed after N instructions (in order of closing)
 *   dropped I N        regions of pair I not recorded (more than MAX_RECORDS)
 * The guest has no timers in the regions counted, so the counts are the
 * same on every run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

#define MAX_PAIRS 8
#define MAX_RECORDS 65536

typedef struct {
    uint64_t begin, end;   /* addresses */
    uint64_t opened_at;
    int open;
    uint64_t dropped;
} pair_t;

typedef struct {
    uint32_t pair;
    uint64_t count;
} record_t;

static uint64_t executed;
static pair_t pairs[MAX_PAIRS];
static unsigned pair_count;
static record_t *records;
static size_t record_count;
static const char *out_path;

static void on_begin(unsigned int vcpu, void *userdata)
{
    pair_t *p = (pair_t *)userdata;
    (void)vcpu;
    p->opened_at = executed;
    p->open = 1;
}

static void on_end(unsigned int vcpu, void *userdata)
{
    pair_t *p = (pair_t *)userdata;
    (void)vcpu;
    if (!p->open) return;
    p->open = 0;
    if (record_count < MAX_RECORDS) {
        records[record_count].pair = (uint32_t)(p - pairs);
        records[record_count].count = executed - p->opened_at;
        record_count++;
    } else {
        p->dropped++;
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t address = qemu_plugin_insn_vaddr(insn);
        /* Whether a marker callback runs before or after the inline add of
         * its instruction, it does so at both ends: the difference is the same. */
        for (unsigned j = 0; j < pair_count; j++) {
            if (address == pairs[j].begin)
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, &pairs[j]);
            if (address == pairs[j].end)
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, &pairs[j]);
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
    }
}

static void emit(FILE *f, const char *line)
{
    if (f)
        fputs(line, f);
    else
        qemu_plugin_outs(line);
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    char line[96];
    FILE *f = NULL;
    (void)id;
    (void)userdata;
    if (out_path && !(f = fopen(out_path, "w")))
        fprintf(stderr, "insncount: cannot write %s\n", out_path);
    snprintf(line, sizeof line, "total %" PRIu64 "\n", executed);
    emit(f, line);
    for (size_t i = 0; i < record_count; i++) {
        snprintf(line, sizeof line, "region %" PRIu32 " %" PRIu64 "\n", records[i].pair, records[i].count);
        emit(f, line);
    }
    for (unsigned j = 0; j < pair_count; j++) {
        if (pairs[j].dropped) {
            snprintf(line, sizeof line, "dropped %u %" PRIu64 "\n", j, pairs[j].dropped);
            emit(f, line);
        }
    }
    if (f) fclose(f);
}

static int parse_address(const char *text, uint64_t *value, char stop)
{
    char *end;
    *value = strtoull(text, &end, 0) & ~(uint64_t)1;
    return end != text && *end == stop;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "mark=", 5) == 0) {
            const char *colon = strchr(arg + 5, ':');
            if (pair_count == MAX_PAIRS || !colon || !parse_address(arg + 5, &pairs[pair_count].begin, ':') ||
                !parse_address(colon + 1, &pairs[pair_count].end, '\0')) {
                fprintf(stderr, "insncount: bad or too many marks: %s\n", arg);
                return -1;
            }
            pair_count++;
        } else if (strncmp(arg, "out=", 4) == 0) {
            out_path = arg + 4;
        } else {
            fprintf(stderr, "insncount: unknown argument %s (mark=BEGIN:END, out=PATH)\n", arg);
            return -1;
        }
    }
    records = calloc(MAX_RECORDS, sizeof *records);
    if (!records) return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
