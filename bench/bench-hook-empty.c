/* bench-hook-empty.c - the baseline of bench-hook.sh: a dynamically
 * linked C program that does nothing, run exactly as the hook is (same
 * arguments, environment and stdin, which it does not read). */
int main(void)
{
    return 0;
}
