/*
 * noop.c — the benchmark's no-op exec handler: exits 0 at once. Linked
 * statically (bench.mk) so that what the worker row measures is the
 * worker's own cost plus process creation, not the dynamic loader's.
 */
int main(void)
{
    return 0;
}
