using System.Diagnostics;
using KetamineCds.Fhir.Data;
using Microsoft.Extensions.DependencyInjection;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>The fetch budget is one per hook call, across keys, retries and pages, and bounds even long attempts.</summary>
public sealed class FallbackBudgetTests
{
    private static readonly Dictionary<string, string?> LongAttempts = new()
    {
        ["KetamineCds:FhirFallback:DeadlineMilliseconds"] = "1000",
        ["KetamineCds:FhirFallback:AttemptTimeoutMilliseconds"] = "1000",
        ["KetamineCds:FhirFallback:MaxRetries"] = "3",
    };

    /// <summary>
    /// Counts attempts, not time (a loaded machine makes any time bound flaky): with a 30 s header delay, 1 s attempts
    /// and 3 retries, the retry policy alone would send 4 attempts over about 4 s; the 1 s deadline of the hook call
    /// leaves no room for another attempt after the first is cut.
    /// </summary>
    [Fact]
    public async Task The_deadline_cuts_a_fetch_that_attempt_timeouts_alone_would_let_run_four_attempts()
    {
        await using var ehr = new ScriptedHttpServer(_ => ScriptedReply.Error(200) with { HeaderDelay = TimeSpan.FromSeconds(30) });
        using var services = FallbackServices.Build([(ehr.BaseUrl.ToString(), false)], allowHttpLoopback: true, out var counter, LongAttempts);
        var fallback = services.GetRequiredService<IFhirFallback>();

        var batch = await fallback.SearchAsync(new FhirServerAccess(ehr.BaseUrl, "t", "Bearer", null), PrefetchKeys.MedicationStatements, "p1", null, CancellationToken.None);
        var attempts = await SettledCount(() => counter.Requests);

        Assert.Equal(PrefetchState.Missing, batch.State);
        Assert.InRange(attempts, 1, 3);
    }

    [Fact]
    public async Task Later_keys_of_the_same_hook_call_share_the_spent_budget()
    {
        await using var ehr = new ScriptedHttpServer(_ => ScriptedReply.Error(200) with { HeaderDelay = TimeSpan.FromSeconds(30) });
        using var services = FallbackServices.Build([(ehr.BaseUrl.ToString(), false)], allowHttpLoopback: true, out var counter, LongAttempts);
        var fallback = services.GetRequiredService<IFhirFallback>();
        var sameCall = new FhirServerAccess(ehr.BaseUrl, "t", "Bearer", null);

        await fallback.SearchAsync(sameCall, PrefetchKeys.MedicationStatements, "p1", null, CancellationToken.None);
        // An attempt cut by the deadline may still reach the server a moment later: count once the traffic has settled.
        var afterFirstKey = await SettledCount(() => counter.Requests);
        var second = await fallback.SearchAsync(sameCall, PrefetchKeys.MedicationRequests, "p1", null, CancellationToken.None);
        var afterSecondKey = await SettledCount(() => counter.Requests);
        var otherCall = await fallback.SearchAsync(new FhirServerAccess(ehr.BaseUrl, "t", "Bearer", null), PrefetchKeys.MedicationRequests, "p1", null, CancellationToken.None);
        var afterOtherCall = await SettledCount(() => counter.Requests);

        Assert.Equal(PrefetchState.Missing, second.State);
        Assert.True(afterFirstKey >= 1);
        Assert.Equal(afterFirstKey, afterSecondKey);
        Assert.True(afterOtherCall > afterSecondKey, "a new hook call gets a new budget");
        Assert.Equal(PrefetchState.Missing, otherCall.State);
    }

    /// <summary>The count once it has not changed for 500 ms (at most 10 s).</summary>
    private static async Task<int> SettledCount(Func<int> count)
    {
        var last = count();
        var stable = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while (stable.Elapsed < TimeSpan.FromMilliseconds(500) && total.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
            var now = count();
            if (now != last)
            {
                last = now;
                stable.Restart();
            }
        }

        return last;
    }
}
