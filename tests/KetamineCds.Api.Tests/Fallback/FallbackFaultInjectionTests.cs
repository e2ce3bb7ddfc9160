using System.Text;
using System.Text.Json.Nodes;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>
/// The EHR prefetches nothing and names its FHIR server, a real HTTP server on 127.0.0.1 that misbehaves in scripted
/// ways. Whatever it does, the hook answers the right cards or 412, never 500, and within its fetch deadline.
/// </summary>
[Collection(FallbackHostCollection.Name)]
public sealed class FallbackFaultInjectionTests(FallbackHostFixture host)
{
    // Generous: the deadline bounds fetching; the slack covers the rest of the hook on a busy 2-core CI machine.
    // A fallback without a budget would take the scripted 30 s.
    private static readonly TimeSpan WithinDeadline = TimeSpan.FromMilliseconds(FallbackHostFixture.DeadlineMilliseconds + 1500);

    private static ScriptedReply Hang => ScriptedReply.Error(200) with { HeaderDelay = TimeSpan.FromSeconds(30) };

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(12)]
    [InlineData(13)]
    public async Task Without_prefetch_the_FHIR_server_supplies_the_data_and_the_cards_match_the_article(int patient)
    {
        var ehr = host.Lease(Table2.Ehr(patient));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(patient, ehr.BaseUrl));

        Assert.Equal(200, answer.Status);
        Assert.Equal(Table2.ExpectedFindings(patient), Table2.Findings(answer.Body));
        Assert.Equal(3, ehr.Requests.Count);
        Assert.All(ehr.Requests, r => Assert.Equal("Bearer ehr-access-token-7f3a", r.Authorization));
        Assert.All(ehr.Requests, r => Assert.Contains($"patient=table2-patient-{patient:00}", r.Target, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_500s_then_success_are_retried_and_the_cards_are_correct()
    {
        var failures = 0;
        var ehr = host.Lease(Table2.Ehr(1, r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal) && Interlocked.Increment(ref failures) <= 2
            ? ScriptedReply.Error(500)
            : null));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.True(answer.Status == 200, $"{answer.Status} after {answer.Elapsed.TotalMilliseconds} ms{Environment.NewLine}{host.Logs.Tail()}");
        Assert.Equal(Table2.ExpectedFindings(1), Table2.Findings(answer.Body));
        Assert.Equal(3, ehr.Requests.Count(r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Persistent_500s_answer_412_with_an_OperationOutcome()
    {
        var ehr = host.Lease(_ => ScriptedReply.Error(500));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.Contains("OperationOutcome", answer.Body, StringComparison.Ordinal);
        Assert.True(answer.Elapsed < WithinDeadline, $"took {answer.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task A_429_with_a_short_Retry_After_is_retried()
    {
        var limited = 0;
        var ehr = host.Lease(Table2.Ehr(1, r => Interlocked.Increment(ref limited) == 1
            ? ScriptedReply.Error(429) with { Headers = new Dictionary<string, string> { ["Retry-After"] = "0" } }
            : null));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(200, answer.Status);
        Assert.Equal(Table2.ExpectedFindings(1), Table2.Findings(answer.Body));
        Assert.Equal(4, ehr.Requests.Count);
    }

    [Fact]
    public async Task A_429_whose_Retry_After_exceeds_the_budget_is_not_waited_for()
    {
        var ehr = host.Lease(_ => ScriptedReply.Error(429) with { Headers = new Dictionary<string, string> { ["Retry-After"] = "120" } });

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        // No retry: one request per key (the two required keys and the optional observations).
        Assert.Equal(3, ehr.Requests.Count);
        Assert.True(answer.Elapsed < TimeSpan.FromMilliseconds(FallbackHostFixture.DeadlineMilliseconds), $"took {answer.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task A_server_that_never_answers_gives_412_within_the_deadline()
    {
        var ehr = host.Lease(_ => Hang);

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.True(answer.Elapsed < WithinDeadline, $"took {answer.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task A_timeout_then_an_answer_is_retried_within_the_budget()
    {
        var calls = 0;
        var ehr = host.Lease(Table2.Ehr(1, _ => Interlocked.Increment(ref calls) == 1 ? Hang : null));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(200, answer.Status);
        Assert.Equal(Table2.ExpectedFindings(1), Table2.Findings(answer.Body));
    }

    [Fact]
    public async Task A_body_that_trickles_in_gives_412_within_the_deadline()
    {
        var ehr = host.Lease(r =>
        {
            var bundle = Encoding.UTF8.GetBytes(Table2.SearchBundle(1, r.Path.Split('/').Last()));
            return new ScriptedReply(200, bundle) { ChunkSize = 16, ChunkDelay = TimeSpan.FromMilliseconds(100) };
        });

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.True(answer.Elapsed < WithinDeadline, $"took {answer.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task A_truncated_body_is_retried_and_then_read_whole()
    {
        var truncated = 0;
        var ehr = host.Lease(Table2.Ehr(1, r =>
        {
            if (!r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal) || Interlocked.Increment(ref truncated) > 1)
            {
                return null;
            }

            return new ScriptedReply(200, Encoding.UTF8.GetBytes(Table2.SearchBundle(1, "MedicationStatement"))) { TruncateAfter = 200 };
        }));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(200, answer.Status);
        Assert.Equal(Table2.ExpectedFindings(1), Table2.Findings(answer.Body));
        Assert.Equal(2, ehr.Requests.Count(r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_body_always_truncated_gives_412()
    {
        var ehr = host.Lease(r => new ScriptedReply(200, Encoding.UTF8.GetBytes(Table2.SearchBundle(1, r.Path.Split('/').Last()))) { TruncateAfter = 200 });

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.True(answer.Elapsed < WithinDeadline, $"took {answer.Elapsed.TotalMilliseconds} ms");
    }

    [Theory]
    [InlineData("{\"resourceType\": \"Bundle\", \"entry\": [")]
    [InlineData("<html><body>Service unavailable</body></html>")]
    [InlineData("null")]
    [InlineData("[1, 2, 3]")]
    [InlineData("{\"resourceType\": \"Patient\", \"id\": \"table2-patient-01\"}")]
    [InlineData("{\"resourceType\": \"OperationOutcome\", \"issue\": []}")]
    public async Task Garbage_instead_of_a_Bundle_gives_412(string garbage)
    {
        var ehr = host.Lease(_ => ScriptedReply.Json(garbage));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.Contains("OperationOutcome", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreadable_entries_are_skipped_and_counted_like_prefetch()
    {
        var ehr = host.Lease(Table2.Ehr(1, r =>
        {
            if (!r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal))
            {
                return null;
            }

            var bundle = JsonNode.Parse(Table2.SearchBundle(1, "MedicationStatement"))!.AsObject();
            bundle["entry"]!.AsArray().Add(new JsonObject { ["resource"] = new JsonObject { ["resourceType"] = "MedicationStatement", ["status"] = 42 } });
            bundle["entry"]!.AsArray().Add(new JsonObject { ["resource"] = "not a resource" });
            return ScriptedReply.Json(bundle.ToJsonString());
        }));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(200, answer.Status);
        Assert.Equal(Table2.ExpectedFindings(1), Table2.Findings(answer.Body));
        Assert.Contains("\"unreadableResources\":", answer.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_oversized_Bundle_is_refused_with_412(bool omitContentLength)
    {
        var huge = JsonNode.Parse(Table2.SearchBundle(1, "MedicationStatement"))!.AsObject();
        huge["padding"] = new string('x', FallbackHostFixture.MaxResponseBytes);
        var body = Encoding.UTF8.GetBytes(huge.ToJsonString());
        var ehr = host.Lease(_ => new ScriptedReply(200, body) { OmitContentLength = omitContentLength });

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        // Not retried: the size is not transient.
        Assert.Equal(3, ehr.Requests.Count);
    }

    [Fact]
    public async Task Two_pages_on_the_same_origin_are_both_read()
    {
        ScriptedHttpServer? ehr = null;
        ehr = host.Lease(Table2.Ehr(1, r =>
        {
            if (!r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal))
            {
                return null;
            }

            var bundle = JsonNode.Parse(Table2.SearchBundle(1, "MedicationStatement"))!.AsObject();
            var entries = bundle["entry"]!.AsArray().Select(e => e!.DeepClone()).ToList();
            var half = entries.Count / 2;
            var secondPage = r.Target.Contains("page=2", StringComparison.Ordinal);
            bundle["entry"] = new JsonArray([.. secondPage ? entries.Skip(half) : entries.Take(half)]);
            if (!secondPage)
            {
                bundle["link"] = new JsonArray(new JsonObject { ["relation"] = "next", ["url"] = $"{ehr!.BaseUrl}/MedicationStatement?patient=table2-patient-01&page=2" });
            }

            return ScriptedReply.Json(bundle.ToJsonString());
        }));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(200, answer.Status);
        Assert.Equal(Table2.ExpectedFindings(1), Table2.Findings(answer.Body));
        var pages = ehr.Requests.Where(r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, pages.Count);
        Assert.All(pages, p => Assert.Equal("Bearer ehr-access-token-7f3a", p.Authorization));
    }

    [Fact]
    public async Task Endless_paging_stops_at_the_page_cap_and_answers_412()
    {
        ScriptedHttpServer? ehr = null;
        var page = 0;
        ehr = host.Lease(Table2.Ehr(1, r =>
        {
            if (!r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal))
            {
                return null;
            }

            var bundle = JsonNode.Parse(Table2.SearchBundle(1, "MedicationStatement"))!.AsObject();
            bundle["link"] = new JsonArray(new JsonObject { ["relation"] = "next", ["url"] = $"{ehr!.BaseUrl}/MedicationStatement?page={Interlocked.Increment(ref page) + 1}" });
            return ScriptedReply.Json(bundle.ToJsonString());
        }));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.Equal(FallbackHostFixture.MaxPages, ehr.Requests.Count(r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_failing_server_opens_its_own_circuit_after_enough_failed_calls_and_not_another_servers()
    {
        var failing = host.Lease(_ => ScriptedReply.Error(503));
        var healthy = host.Lease(Table2.Ehr(1));

        // The breaker counts calls (each after its retries): 3 keys per hook call, 4 failed calls open the circuit.
        var first = await host.PostAsync(Table2.WithoutPrefetch(1, failing.BaseUrl));
        var requestsAfterFirst = failing.Requests.Count;
        await host.PostAsync(Table2.WithoutPrefetch(1, failing.BaseUrl));
        var requestsWhenOpen = failing.Requests.Count;
        var third = await host.PostAsync(Table2.WithoutPrefetch(1, failing.BaseUrl));
        var other = await host.PostAsync(Table2.WithoutPrefetch(1, healthy.BaseUrl));

        Assert.Equal(412, first.Status);
        Assert.Equal(412, third.Status);
        Assert.True(requestsAfterFirst >= 6, $"{requestsAfterFirst} requests: every key's call should have been retried");
        Assert.Equal(requestsWhenOpen, failing.Requests.Count);
        Assert.Equal(200, other.Status);
        Assert.Equal(Table2.ExpectedFindings(1), Table2.Findings(other.Body));
    }

    [Fact]
    public async Task A_server_whose_retries_succeed_keeps_its_circuit_closed_and_every_chart_is_read()
    {
        // Every search fails once with 503 and succeeds on the retry: half of all attempts fail, which opened the circuit
        // when the breaker counted attempts (issue 8 item 5). Each call succeeds, so the circuit must stay closed.
        var attempts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var flaky = host.Lease(Table2.Ehr(13, request => attempts.AddOrUpdate(request.Target, 1, (_, n) => n + 1) % 2 == 1 ? ScriptedReply.Error(503) : null));

        var answers = new List<HookAnswer>();
        for (var i = 0; i < 6; i++)
        {
            answers.Add(await host.PostAsync(Table2.WithoutPrefetch(13, flaky.BaseUrl)));
        }

        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.All(answers, a => Assert.Equal(Table2.ExpectedFindings(13), Table2.Findings(a.Body)));
        Assert.Equal(36, flaky.Requests.Count);
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains($"origin=http://127.0.0.1:{flaky.Port} outcome=circuit-open", StringComparison.Ordinal));
    }
}
