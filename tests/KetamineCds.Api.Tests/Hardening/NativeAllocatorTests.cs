using System.Runtime.InteropServices;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Api.Tests.MultiInstance;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// The slow resident-memory rise of long soaks sits in glibc's malloc arenas: free pages glibc keeps between live blocks
/// (ADR-18, ADR-19). The service caps the arenas at start-up and gives free pages back on a schedule; the effect under
/// load is measured with the load harness (docs/reliability.md). These pin that both are applied in the real process,
/// that an operator's settings win, and that a trim really makes freed pages non-resident.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class NativeAllocatorTests
{
    [Fact]
    public async Task The_service_caps_glibc_malloc_arenas_at_two_at_start_up()
    {
        await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>(), aspnetEnvironment: "Testing");

        Assert.Contains(service.Output, line => line.Contains("glibc malloc arenas outcome=capped max=2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MALLOC_ARENA_MAX_in_the_environment_is_left_to_glibc()
    {
        await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string> { ["MALLOC_ARENA_MAX"] = "4" }, aspnetEnvironment: "Testing");

        Assert.Contains(service.Output, line => line.Contains("glibc malloc arenas outcome=environment", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_service_gives_free_native_heap_pages_back_on_its_schedule()
    {
        await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>
        {
            ["KetamineCds__NativeHeapTrimIntervalSeconds"] = "1",
            ["Logging__LogLevel__KetamineCds.Api.Infrastructure.NativeHeapTrimmer"] = "Debug",
        }, aspnetEnvironment: "Testing");

        // Hosted services log on the thread pool, and the lines come through a pipe: wait for them rather than race readiness.
        Assert.True(await service.WaitForLinesAsync("free pages given back to the kernel every 1 s", timeout: TimeSpan.FromSeconds(30)), string.Join('\n', service.Output));
        Assert.True(await service.WaitForLinesAsync("Native heap trimmed: released=", count: 2, timeout: TimeSpan.FromSeconds(30)), string.Join('\n', service.Output));
    }

    [Fact]
    public async Task An_interval_of_zero_turns_the_trim_off()
    {
        await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>
        {
            ["KetamineCds__NativeHeapTrimIntervalSeconds"] = "0",
        }, aspnetEnvironment: "Testing");

        Assert.True(await service.WaitForLinesAsync("Native heap: not trimmed: reason=interval 0", timeout: TimeSpan.FromSeconds(30)), string.Join('\n', service.Output));
        Assert.DoesNotContain(service.Output, line => line.Contains("given back to the kernel every", StringComparison.Ordinal));
    }

    /// <summary>
    /// Fragments this thread's heap as a day of hook calls does (long-lived blocks among freed ones), then asks the kernel
    /// (mincore) which freed pages are resident before and after <see cref="NativeAllocator.TrimHeap"/>: glibc alone keeps
    /// them; the trim gives them back. In-process hosts of other tests trim too (NativeHeapTrimmer, at start and every
    /// minute), so this class stays in the serial collection, where no other test runs meanwhile.
    /// </summary>
    [Fact]
    public void A_trim_makes_the_pages_freed_between_live_blocks_non_resident()
    {
        const int blocks = 20_000, blockBytes = 2048, keepEvery = 50;
        var filler = Enumerable.Repeat((byte)0x5A, blockBytes).ToArray();
        var addresses = new nint[blocks];
        for (var i = 0; i < blocks; i++)
        {
            // AllocHGlobal is malloc on Unix.
            addresses[i] = Marshal.AllocHGlobal(blockBytes);
            Marshal.Copy(filler, 0, addresses[i], blockBytes);
        }

        // The page in the middle of each freed run: the run lies between two kept blocks, so glibc cannot shrink the heap's top.
        var probes = new List<nint>();
        for (var i = 0; i < blocks; i++)
        {
            if (i % keepEvery == keepEvery / 2)
            {
                probes.Add(addresses[i] & ~(nint)(Environment.SystemPageSize - 1));
            }

            if (i % keepEvery != 0 && i != blocks - 1)
            {
                Marshal.FreeHGlobal(addresses[i]);
                addresses[i] = 0;
            }
        }

        try
        {
            var residentBefore = probes.Count(IsResident);
            var released = NativeAllocator.TrimHeap();
            var residentAfter = probes.Count(IsResident);

            Assert.True(residentBefore > probes.Count * 9 / 10, $"{residentBefore} of {probes.Count} freed pages resident before the trim");
            Assert.True(released);
            // Other threads may take some of the freed chunks meanwhile; most stay free and must be given back.
            Assert.True(residentAfter < probes.Count / 2, $"{residentAfter} of {probes.Count} freed pages still resident after the trim");
        }
        finally
        {
            foreach (var address in addresses.Where(a => a != 0))
            {
                Marshal.FreeHGlobal(address);
            }
        }
    }

    private static bool IsResident(nint page)
    {
        var vector = new byte[1];
        Assert.Equal(0, Mincore(page, (nuint)Environment.SystemPageSize, vector));
        return (vector[0] & 1) != 0;
    }

    [DllImport("libc", EntryPoint = "mincore", ExactSpelling = true, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Mincore(nint address, nuint length, [Out] byte[] vector);
}
