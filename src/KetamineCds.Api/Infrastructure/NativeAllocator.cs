using System.Runtime.InteropServices;

namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// Caps glibc's malloc arenas, first thing at start-up (ADR-18). glibc gives each new thread an arena of its own, up to
/// 8 per core, and an arena keeps the highest footprint it ever had; in an hour's soak the arenas' resident size rose
/// from 38.8 to 48.4 MB while the GC's memory stayed flat. glibc fixes its limit when it first needs an arena beyond its
/// test count, so the arenas the runtime's threads made before <c>Main</c> stay (8 heaps instead of 15, measured); the
/// rest of the process shares them. Set here rather than in the image only, so that <c>dotnet run</c>, the load harness
/// and the image behave alike; <c>MALLOC_ARENA_MAX</c> or <c>GLIBC_TUNABLES</c> in the environment take precedence
/// (glibc reads them itself, and this call is then skipped). Not glibc (musl, macOS, Windows): nothing is done.
/// </summary>
internal static class NativeAllocator
{
    /// <summary>The arenas kept: two lock domains for the thread pool, as most servers that cap them use.</summary>
    public const int ArenaMax = 2;

    // M_ARENA_MAX in glibc's malloc.h.
    private const int MallocArenaMaxParameter = -8;

    /// <summary>What was done, for the start-up log: "capped", "environment", "refused" or "not-glibc".</summary>
    public static string Outcome { get; private set; } = "not-run";

    public static void CapArenas()
    {
        if (!OperatingSystem.IsLinux())
        {
            Outcome = "not-glibc";
            return;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX"))
            || (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "").Contains("arena_max", StringComparison.Ordinal))
        {
            Outcome = "environment";
            return;
        }

        try
        {
            // mallopt returns 1 on success; musl's is a stub that returns 0.
            Outcome = Mallopt(MallocArenaMaxParameter, ArenaMax) == 1 ? "capped" : "refused";
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            Outcome = "not-glibc";
        }
    }

    /// <summary>
    /// Gives glibc's free heap pages back to the kernel (<c>malloc_trim(0)</c>): true when some were released, false when
    /// none were, null off glibc. glibc returns free memory only from the top of a heap, so the pages freed between
    /// long-lived blocks stay resident until this is called (ADR-19, <see cref="NativeHeapTrimmer"/>).
    /// </summary>
    public static bool? TrimHeap()
    {
        // "refused": a mallopt that is a stub (musl), whose malloc_trim would be one too.
        if (!OperatingSystem.IsLinux() || Outcome is "not-glibc" or "refused")
        {
            return null;
        }

        try
        {
            return MallocTrim(0) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    // DllImport, not LibraryImport: the signatures are blittable, and LibraryImport would need unsafe code project-wide.
    [DllImport("libc", EntryPoint = "mallopt", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Mallopt(int parameter, int value);

    // size_t pad: the free space to leave at the top of the main heap; 0 releases all that can be.
    [DllImport("libc", EntryPoint = "malloc_trim", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);
}
