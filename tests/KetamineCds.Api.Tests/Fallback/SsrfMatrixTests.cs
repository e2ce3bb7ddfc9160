using System.Net;
using System.Text.Json.Nodes;
using KetamineCds.Api.FhirAccess;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Fallback;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>
/// fhirServer is untrusted input. Every refusal here is asserted without traffic to a forbidden address: by the
/// policy's decision, by a counting handler in front of the socket, or by a 127.0.0.1 listener that counts connections.
/// </summary>
[Collection(FallbackHostCollection.Name)]
public sealed class SsrfMatrixTests(FallbackHostFixture host)
{
    private static readonly PrefetchKey Statements = PrefetchKeys.MedicationStatements;

    // ---- Through the hook: refused with 403 before any data is gathered ----

    [Theory]
    [InlineData("http://ehr.hospital.example/fhir", "https")]
    [InlineData("https://evil.example/fhir", "allow-list")]
    [InlineData("https://10.0.0.5/fhir", "Private")]
    [InlineData("https://169.254.169.254/fhir", "Metadata")]
    [InlineData("https://ehr.hospital.example/fhir", "allow-list")]
    [InlineData("https://user:secret@ehr.hospital.example/fhir", "user info")]
    public async Task A_forbidden_fhirServer_is_refused_with_403(string fhirServer, string reason)
    {
        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, new Uri(fhirServer)));

        Assert.Equal(403, answer.Status);
        Assert.Contains("OperationOutcome", answer.Body, StringComparison.Ordinal);
        Assert.Contains(reason, answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unlisted_loopback_port_is_refused_and_never_contacted()
    {
        await using var unlisted = new ScriptedHttpServer(Table2.Ehr(1));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, unlisted.BaseUrl));

        Assert.Equal(403, answer.Status);
        Assert.Equal(0, unlisted.Connections);
    }

    [Fact]
    public async Task A_refused_fhirServer_gets_403_even_when_prefetch_is_complete()
    {
        await using var unlisted = new ScriptedHttpServer(Table2.Ehr(1));
        var request = Table2.Request(1);
        request["fhirServer"] = unlisted.BaseUrl.ToString();

        var answer = await host.PostAsync(request);

        Assert.Equal(403, answer.Status);
        Assert.Equal(0, unlisted.Connections);
    }

    [Fact]
    public async Task A_redirect_to_another_server_is_not_followed()
    {
        var elsewhere = host.Lease(Table2.Ehr(1));
        var redirecting = host.Lease(r => new ScriptedReply(302, [])
        {
            Headers = new Dictionary<string, string> { ["Location"] = $"{elsewhere.BaseUrl}{r.Target[r.Target.IndexOf('/', 1)..]}" },
        });

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, redirecting.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.False(redirecting.Requests.IsEmpty);
        Assert.Equal(0, elsewhere.Connections);
    }

    [Fact]
    public async Task A_next_link_to_another_port_is_not_followed_and_never_gets_the_token()
    {
        var elsewhere = host.Lease(Table2.Ehr(1));
        var ehr = host.Lease(Table2.Ehr(1, r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal)
            ? ScriptedReply.Json(WithNext(Table2.SearchBundle(1, "MedicationStatement"), $"{elsewhere.BaseUrl}/MedicationStatement?page=2"))
            : null));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.Equal(0, elsewhere.Connections);
        Assert.Empty(elsewhere.Requests);
        Assert.All(ehr.Requests, r => Assert.Equal("Bearer ehr-access-token-7f3a", r.Authorization));
    }

    [Fact]
    public async Task A_next_link_to_another_host_name_on_the_same_port_is_not_followed()
    {
        ScriptedHttpServer? ehr = null;
        ehr = host.Lease(Table2.Ehr(1, r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal)
            ? ScriptedReply.Json(WithNext(Table2.SearchBundle(1, "MedicationStatement"), $"http://localhost:{ehr!.Port}/fhir/MedicationStatement?page=2"))
            : null));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(1, ehr.BaseUrl));

        Assert.Equal(412, answer.Status);
        Assert.Single(ehr.Requests, r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_paged_prefetch_whose_next_link_points_elsewhere_is_not_followed()
    {
        var elsewhere = host.Lease(Table2.Ehr(1));
        var ehr = host.Lease(Table2.Ehr(1));
        var request = Table2.WithoutPrefetch(1, ehr.BaseUrl);
        var prefetch = Table2.Request(1)["prefetch"]!.AsObject();
        prefetch["medicationStatements"] = JsonNode.Parse(WithNext(Table2.SearchBundle(1, "MedicationStatement"), $"{elsewhere.BaseUrl}/MedicationStatement?page=2"));
        request["prefetch"] = prefetch.DeepClone();

        var answer = await host.PostAsync(request);

        Assert.Equal(412, answer.Status);
        Assert.Equal(0, elsewhere.Connections);
    }

    // ---- The fetcher itself, with a counting handler in front of the socket ----

    [Theory]
    [InlineData("http://ehr.hospital.example/fhir", false)]
    [InlineData("https://10.0.0.5/fhir", false)]
    [InlineData("https://192.168.1.20/fhir", false)]
    [InlineData("https://172.16.0.1/fhir", false)]
    [InlineData("https://169.254.169.254/latest/meta-data", true)]
    [InlineData("https://[fd00:ec2::254]/fhir", true)]
    [InlineData("https://[::ffff:10.0.0.5]/fhir", false)]
    [InlineData("https://[fe80::1]/fhir", false)]
    [InlineData("https://0.0.0.0/fhir", true)]
    public async Task The_fetcher_refuses_forbidden_targets_without_sending_anything(string url, bool allowPrivateAddress)
    {
        var fhirServer = new Uri(url);
        using var services = FallbackServices.Build([(url, allowPrivateAddress)], allowHttpLoopback: false, out var counter);
        var policy = services.GetRequiredService<FhirServerPolicy>();
        var fallback = services.GetRequiredService<IFhirFallback>();

        var batch = await fallback.SearchAsync(new FhirServerAccess(fhirServer, "token", "Bearer", null), Statements, "p1", null, CancellationToken.None);

        Assert.False(policy.EvaluateListed(fhirServer).Allowed);
        Assert.Equal(PrefetchState.Missing, batch.State);
        Assert.Equal(0, counter.Requests);
    }

    [Fact]
    public async Task The_fetcher_refuses_an_unlisted_server_without_sending_anything()
    {
        using var services = FallbackServices.Build([("https://ehr.hospital.example/fhir", false)], allowHttpLoopback: false, out var counter);
        var fallback = services.GetRequiredService<IFhirFallback>();

        var batch = await fallback.SearchAsync(new FhirServerAccess(new Uri("https://unlisted.example/fhir"), "token", "Bearer", null), Statements, "p1", null, CancellationToken.None);

        Assert.Equal(PrefetchState.Missing, batch.State);
        Assert.Equal(0, counter.Requests);
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_refused_at_connect_time()
    {
        // "localhost" passes the literal-address check; its resolved addresses (127.0.0.1, ::1) do not.
        await using var listener = new ScriptedHttpServer(Table2.Ehr(1));
        var url = $"https://localhost:{listener.Port}/fhir";
        using var services = FallbackServices.Build([(url, false)], allowHttpLoopback: false, out var counter);
        var fallback = services.GetRequiredService<IFhirFallback>();

        var batch = await fallback.SearchAsync(new FhirServerAccess(new Uri(url), "token", "Bearer", null), Statements, "p1", null, CancellationToken.None);

        Assert.Equal(PrefetchState.Missing, batch.State);
        Assert.Equal(1, counter.Requests); // one attempt reached the connect callback, and was not retried
        Assert.Equal(0, listener.Connections);
    }

    [Fact]
    public async Task The_connect_callback_refuses_a_private_address_on_its_own()
    {
        // Bypasses every earlier check: the request carries a policy for 10.0.0.5 without AllowPrivateAddress.
        using var handler = FhirHttp.CreatePrimaryHandler();
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://10.0.0.5/fhir/metadata");
        request.Options.Set(FhirCallPolicy.Key, new FhirCallPolicy(new Uri("https://10.0.0.5/fhir"), false, false, long.MaxValue));

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(request));

        Assert.IsType<FhirRequestRefusedException>(ex.InnerException);
    }

    [Fact]
    public async Task The_connect_callback_refuses_a_request_without_a_policy()
    {
        await using var listener = new ScriptedHttpServer(Table2.Ehr(1));
        using var handler = FhirHttp.CreatePrimaryHandler();
        using var client = new HttpClient(handler);

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(listener.BaseUrl));

        Assert.IsType<FhirRequestRefusedException>(ex.InnerException);
        Assert.Equal(0, listener.Connections);
    }

    [Fact]
    public async Task The_guard_sends_the_token_only_to_the_allow_listed_origin()
    {
        var allowed = new Uri("https://ehr.hospital.example/fhir");
        var counter = new CountingHandler(new CountingHandler.Counts()) { InnerHandler = new StubHandler() };
        using var guard = new FhirRequestGuard(new FhirCallPolicy(allowed, false, false, long.MaxValue), "secret-token") { InnerHandler = counter };
        using var client = new HttpClient(guard);

        using var ok = await client.GetAsync(new Uri("https://ehr.hospital.example/fhir/MedicationStatement?patient=p1"));
        await Assert.ThrowsAsync<FhirRequestRefusedException>(() => client.GetAsync(new Uri("https://ehr.hospital.example:8443/fhir/MedicationStatement")));
        await Assert.ThrowsAsync<FhirRequestRefusedException>(() => client.GetAsync(new Uri("http://ehr.hospital.example/fhir/MedicationStatement")));
        await Assert.ThrowsAsync<FhirRequestRefusedException>(() => client.GetAsync(new Uri("https://attacker.example/fhir/MedicationStatement")));

        Assert.Equal(1, counter.Requests);
        Assert.Equal("Bearer secret-token", counter.LastAuthorization);
    }

    private static string WithNext(string bundleJson, string next)
    {
        var bundle = JsonNode.Parse(bundleJson)!.AsObject();
        bundle["link"] = new JsonArray(new JsonObject { ["relation"] = "next", ["url"] = next });
        return bundle.ToJsonString();
    }
}

/// <summary>Counts the requests that reach it (and the Authorization header of the last one).</summary>
public sealed class CountingHandler(CountingHandler.Counts counts) : DelegatingHandler
{
    public int Requests => counts.Requests;

    public string? LastAuthorization => counts.LastAuthorization;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref counts.Requests);
        counts.LastAuthorization = request.Headers.Authorization?.ToString();
        return base.SendAsync(request, cancellationToken);
    }

    public sealed class Counts
    {
        public int Requests;

        public string? LastAuthorization;
    }
}

/// <summary>Answers every request with an empty searchset, without any network.</summary>
public sealed class StubHandler : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("""{"resourceType":"Bundle","type":"searchset"}""") });
}
