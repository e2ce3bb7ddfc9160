using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>
/// The service (WebApplicationFactory, in memory) with a pool of scripted FHIR servers on 127.0.0.1, all allow-listed.
/// Each test leases fresh servers, so every test has its own origins and therefore its own circuit breakers.
/// </summary>
public sealed class FallbackHostFixture : IAsyncLifetime
{
    // Wider than the production defaults (800/300): these tests assert outcomes, and the 2-core CI machine is shared.
    public const int DeadlineMilliseconds = 2500;
    public const int AttemptTimeoutMilliseconds = 800;
    public const int MaxPages = 3;
    public const int MaxResponseBytes = 256 * 1024;

    private readonly List<ScriptedHttpServer> pool = [];
    private int leased;

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public CapturedLogs Logs { get; } = new();

    public ScriptedHttpServer Lease(Func<RecordedRequest, ScriptedReply> handler)
    {
        var index = Interlocked.Increment(ref leased) - 1;
        if (index >= pool.Count)
        {
            throw new InvalidOperationException("The scripted server pool is exhausted; raise its size.");
        }

        pool[index].Handler = handler;
        return pool[index];
    }

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 40; i++)
        {
            pool.Add(new ScriptedHttpServer());
        }

        var settings = new Dictionary<string, string?>
        {
            ["KetamineCds:Security:RequireSignedRequests"] = "false",
            // Thousands of calls from one (unsigned) caller: the per-issuer rate limit is tested in Security/.
            ["KetamineCds:Security:RateLimit:PermitLimit"] = "1000000",
            ["KetamineCds:FhirFallback:AllowHttpLoopback"] = "true",
            ["KetamineCds:FhirFallback:DeadlineMilliseconds"] = DeadlineMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["KetamineCds:FhirFallback:AttemptTimeoutMilliseconds"] = AttemptTimeoutMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["KetamineCds:FhirFallback:MaxPages"] = MaxPages.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["KetamineCds:FhirFallback:MaxResponseBytes"] = MaxResponseBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["KetamineCds:FhirFallback:CircuitMinimumThroughput"] = "4",
        };
        var n = 0;
        foreach (var server in pool)
        {
            settings[$"KetamineCds:FhirServers:{n}:BaseUrl"] = server.BaseUrl.ToString();
            n++;
        }

        // Listed, but refused by the address policy or for this caller: the SSRF matrix's hook-level cases.
        settings[$"KetamineCds:FhirServers:{n}:BaseUrl"] = "https://10.0.0.5/fhir";
        settings[$"KetamineCds:FhirServers:{n + 1}:BaseUrl"] = "https://169.254.169.254/fhir";
        settings[$"KetamineCds:FhirServers:{n + 1}:AllowPrivateAddress"] = "true";
        settings[$"KetamineCds:FhirServers:{n + 2}:BaseUrl"] = "https://ehr.hospital.example/fhir";
        settings[$"KetamineCds:FhirServers:{n + 2}:Issuer"] = "https://ehr.hospital.example";

        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseEnvironment("Development");
            b.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(settings));
            b.ConfigureLogging(logging => logging.AddProvider(Logs));
        });
        Client = Factory.CreateClient();

        // Warm up: knowledge loading, the first FHIR parse and the first outbound connection are one-off costs.
        await PostAsync(Table2.Request(1));
        var warm = Lease(Table2.Ehr(1));
        await PostAsync(Table2.WithoutPrefetch(1, warm.BaseUrl));
        var failedOnce = 0;
        var retried = Lease(Table2.Ehr(1, _ => Interlocked.Increment(ref failedOnce) == 1 ? ScriptedReply.Error(503) : null));
        await PostAsync(Table2.WithoutPrefetch(1, retried.BaseUrl));
    }

    public async Task<HookAnswer> PostAsync(JsonObject request) => await PostRawAsync(request.ToJsonString());

    public async Task<HookAnswer> PostRawAsync(string body)
    {
        var started = Stopwatch.GetTimestamp();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Client.PostAsync(new Uri("/cds-services/ketamine-order-sign", UriKind.Relative), content);
        var text = await response.Content.ReadAsStringAsync();
        return new HookAnswer((int)response.StatusCode, text, Stopwatch.GetElapsedTime(started));
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
        foreach (var server in pool)
        {
            await server.DisposeAsync();
        }
    }
}

public sealed record HookAnswer(int Status, string Body, TimeSpan Elapsed);

[CollectionDefinition(Name)]
public sealed class FallbackHostCollection : ICollectionFixture<FallbackHostFixture>
{
    public const string Name = "fallback-host";
}
