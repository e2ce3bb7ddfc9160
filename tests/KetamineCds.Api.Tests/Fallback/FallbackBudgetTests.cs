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

    [Fact]
    public async Task The_deadline_cuts_a_fetch_that_attempt_timeouts_alone_would_let_run_four_seconds()
    {
        await using var ehr = new ScriptedHttpServer(_ => ScriptedReply.Error(200) with { HeaderDelay = TimeSpan.FromSeconds(30) });
        using var services = FallbackServices.Build([(ehr.BaseUrl.ToString(), false)], allowHttpLoopback: true, out _, LongAttempts);
        var fallback = services.GetRequiredService<IFhirFallback>();
        var started = Stopwatch.GetTimestamp();

        var batch = await fallback.SearchAsync(new FhirServerAccess(ehr.BaseUrl, "t", "Bearer", null), PrefetchKeys.MedicationStatements, "p1", null, CancellationToken.None);

        Assert.Equal(PrefetchState.Missing, batch.State);
        var elapsed = Stopwatch.GetElapsedTime(started);
        Assert.True(elapsed < TimeSpan.FromMilliseconds(2500), $"took {elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Later_keys_of_the_same_hook_call_share_the_spent_budget()
    {
        await using var ehr = new ScriptedHttpServer(_ => ScriptedReply.Error(200) with { HeaderDelay = TimeSpan.FromSeconds(30) });
        using var services = FallbackServices.Build([(ehr.BaseUrl.ToString(), false)], allowHttpLoopback: true, out var counter, LongAttempts);
        var fallback = services.GetRequiredService<IFhirFallback>();
        var sameCall = new FhirServerAccess(ehr.BaseUrl, "t", "Bearer", null);

        await fallback.SearchAsync(sameCall, PrefetchKeys.MedicationStatements, "p1", null, CancellationToken.None);
        var afterFirstKey = counter.Requests;
        var second = await fallback.SearchAsync(sameCall, PrefetchKeys.MedicationRequests, "p1", null, CancellationToken.None);
        var afterSecondKey = counter.Requests;
        var otherCall = await fallback.SearchAsync(new FhirServerAccess(ehr.BaseUrl, "t", "Bearer", null), PrefetchKeys.MedicationRequests, "p1", null, CancellationToken.None);

        Assert.Equal(PrefetchState.Missing, second.State);
        Assert.True(afterFirstKey >= 1);
        Assert.Equal(afterFirstKey, afterSecondKey);
        Assert.True(counter.Requests > afterSecondKey, "a new hook call gets a new budget");
        Assert.Equal(PrefetchState.Missing, otherCall.State);
    }
}
