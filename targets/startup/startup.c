/*
 * startup.c - reset and fault handling for circnn firmware on Cortex-M
 * (M0+, M3, M4F, M7, M33), bare metal, no newlib start files.
 *
 * Reset: enable the FPU (when the build uses one), copy .data from flash,
 * clear .bss, call main() and stop the emulator with main's return value as
 * the exit status (semihosting).  Any fault or unexpected exception prints
 * one line naming the exception number and the faulting pc, and exits with
 * status STARTUP_FAULT_STATUS, so a crash is never mistaken for a hang or a
 * pass.  Symbols come from targets/ld/sections.ld.
 */
#include <stdint.h>

#include "semihost.h"

#define STARTUP_FAULT_STATUS 127

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern int main(void);

void Reset_Handler(void);
void Fault_Handler(void);
void fault_report(const uint32_t *frame, uint32_t ipsr);

static char *put_hex(char *p, uint32_t v)
{
    *p++ = '0';
    *p++ = 'x';
    for (int shift = 28; shift >= 0; shift -= 4) *p++ = "0123456789abcdef"[(v >> shift) & 0xFu];
    return p;
}

static char *put_text(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

/* frame: the exception stack frame (r0-r3, r12, lr, pc, xpsr). */
__attribute__((used, noreturn)) void fault_report(const uint32_t *frame, uint32_t ipsr)
{
    char line[96], *p = line;
    p = put_text(p, "circnn-runner: FAULT exception ");
    p = put_hex(p, ipsr & 0x1ffu);
    p = put_text(p, " pc ");
    p = put_hex(p, frame[6]);
    p = put_text(p, "\n");
    *p = '\0';
    semihost_write0(line);
    semihost_exit(STARTUP_FAULT_STATUS);
}

/* Every fault and unexpected interrupt lands here: pass the main stack
 * pointer (the runner never uses the process stack) and IPSR on. */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "mrs r0, msp\n\t"
        "mrs r1, ipsr\n\t"
        "ldr r2, =fault_report\n\t"
        "bx r2\n\t"
        ".ltorg\n\t");
}

/* A vector: the initial stack pointer (entry 0) or a handler; a union, as
 * ISO C has no conversion between object and function pointers.  An
 * initializer without a designator sets the handler; 0 is a null handler. */
typedef union vector {
    void (*handler)(void);
    const void *stack;
} vector_t;

#define F {Fault_Handler}
__attribute__((section(".isr_vector"), used)) const vector_t vector_table[48] = {
    {.stack = &__stack_top},   /* initial stack pointer */
    {Reset_Handler},           /* 1 reset */
    F,                         /* 2 NMI */
    F,                         /* 3 HardFault */
    F,                         /* 4 MemManage */
    F,                         /* 5 BusFault */
    F,                         /* 6 UsageFault */
    F,                         /* 7 SecureFault (M33) */
    {0}, {0}, {0},             /* 8-10 reserved */
    F,                         /* 11 SVCall */
    F,                         /* 12 DebugMonitor */
    {0},                       /* 13 reserved */
    F,                         /* 14 PendSV */
    F,                         /* 15 SysTick */
    /* 16-47: external interrupts, none enabled; caught all the same */
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
};
#undef F

__attribute__((noreturn)) void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11, else the first float instruction
     * raises a NOCP UsageFault. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
#if __ARM_ARCH >= 7
    /* CCR: trap division by zero (UNALIGN_TRP stays off: the C code is
     * alignment-clean, and M0 traps unaligned access by itself). */
    *(volatile uint32_t *)0xE000ED14u |= 1u << 4;
#endif
    const uint32_t *src = &__data_load;
    for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
    for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
    semihost_exit(main());
}
