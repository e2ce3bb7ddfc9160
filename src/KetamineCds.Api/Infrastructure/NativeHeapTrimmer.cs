using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// Gives glibc's free heap pages back to the kernel every <see cref="CdsOptions.NativeHeapTrimIntervalSeconds"/> (ADR-19).
/// Under load the native heap's live blocks stay about 10-14 MB, but glibc keeps the pages freed between them resident
/// (about 30 MB of free chunks in its arenas after a minute, measured with malloc_info): the slow resident-memory rise of
/// long soaks. The first trim after a minute of load took 9.3 ms, later ones 0.14-4.2 ms (median 0.4), holding one arena's lock at a time
/// (docs/reliability.md). Off glibc, or with an interval of 0, it does nothing.
/// </summary>
public sealed class NativeHeapTrimmer(IOptions<CdsOptions> options, TimeProvider time, ILogger<NativeHeapTrimmer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seconds = options.Value.NativeHeapTrimIntervalSeconds;
        // The first trim, at start-up, also finds out whether this is glibc.
        if (seconds == 0 || NativeAllocator.TrimHeap() is null)
        {
            Log.NativeHeapTrimOff(logger, seconds == 0 ? "interval 0" : "not glibc");
            return;
        }

        Log.NativeHeapTrimOn(logger, seconds);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var started = Stopwatch.GetTimestamp();
                var released = NativeAllocator.TrimHeap() == true;
                Log.NativeHeapTrimmed(logger, released, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
