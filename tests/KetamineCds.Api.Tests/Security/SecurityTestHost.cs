using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Api.Tests.Security;

/// <summary>The real service (WebApplicationFactory&lt;Program&gt;) with security settings and every log line captured.</summary>
public sealed class SecurityTestHost : IDisposable
{
    private readonly WebApplicationFactory<Program> factory;

    public SecurityTestHost(IDictionary<string, string?> settings, string environment = "Testing")
    {
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment(environment);
            builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(settings));
            builder.ConfigureLogging(logging =>
            {
                logging.AddProvider(Logs);
                logging.AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace);
            });
        });
    }

    public CapturingLoggerProvider Logs { get; } = new();

    public HttpClient CreateClient() => factory.CreateClient();

    /// <summary>Starts the host (so start-up validation runs) and returns its services.</summary>
    public IServiceProvider Services => factory.Services;

    public static Dictionary<string, string?> Settings(params Dictionary<string, string?>[] parts)
    {
        var all = new Dictionary<string, string?> { ["KetamineCds:Security:PublicBaseUrl"] = TestTokens.PublicBaseUrl };
        foreach (var part in parts)
        {
            foreach (var (key, value) in part)
            {
                all[key] = value;
            }
        }

        return all;
    }

    public static string ScenarioPath(string scenario, string file = "request.json") =>
        Path.Combine(AppContext.BaseDirectory, "scenarios", "table2", scenario, file);

    /// <summary>POSTs a scenario's request.json to a service with the given Authorization header value (or none).</summary>
    public async Task<HttpResponseMessage> CallAsync(string serviceId, string? token, string scenario = "patient-01", string? origin = null)
    {
        using var client = CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/cds-services/{serviceId}")
        {
            Content = new StringContent(await File.ReadAllTextAsync(ScenarioPath(scenario)), System.Text.Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return await client.SendAsync(request);
    }

    public void Dispose() => factory.Dispose();
}

/// <summary>Captures every log line (category, level, formatted message, exception text) of the service.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. entries];

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, entries);

    public void Dispose()
    {
    }

    /// <summary>The reason code of the most recent authentication refusal.</summary>
    public string? LastRefusalReason() =>
        Entries.LastOrDefault(e => e.Message.StartsWith("CDS client authentication refused", StringComparison.Ordinal)) is { } entry
            ? entry.Message[(entry.Message.LastIndexOf("reason=", StringComparison.Ordinal) + "reason=".Length)..]
            : null;

    private sealed class CapturingLogger(string category, ConcurrentQueue<CapturedLog> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // The state's properties too: a structured sink would write them even if the message template did not.
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            entries.Enqueue(new CapturedLog(category, logLevel, formatter(state, exception), properties + " " + exception));
        }
    }
}

public sealed record CapturedLog(string Category, LogLevel Level, string Message, string Extra)
{
    public string All => $"{Category} {Message} {Extra}";
}

/// <summary>A real HTTP server on 127.0.0.1 serving a JWKS that a test can rotate, counting fetches.</summary>
public sealed class JwksServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private volatile string jwks = """{"keys":[]}""";
    private int hits;

    private JwksServer(WebApplication app) => this.app = app;

    public string Url { get; private set; } = "";

    public int Hits => Volatile.Read(ref hits);

    public void Serve(string jwksJson) => jwks = jwksJson;

    public static async Task<JwksServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new JwksServer(app);
        app.MapGet("/jwks.json", () =>
        {
            Interlocked.Increment(ref server.hits);
            return Results.Text(server.jwks, "application/json");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = address.TrimEnd('/') + "/jwks.json";
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
