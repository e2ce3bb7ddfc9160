using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace KetamineCds.Api.Tests.Support;

/// <summary>The real service in memory, with test configuration layered over its defaults.</summary>
public sealed class CdsApplication : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public CdsApplication()
        : this(new Dictionary<string, string?>())
    {
    }

    /// <summary>With extra configuration; for tests that build their own instance rather than use the class fixture.</summary>
    public static CdsApplication With(IDictionary<string, string?> settings) => new(settings);

    private CdsApplication(IDictionary<string, string?> settings)
    {
        _settings = new Dictionary<string, string?>(settings)
        {
            // Scenario suites post many calls from one caller; the per-issuer rate limit is tested in Security/.
            ["KetamineCds:Security:RateLimit:PermitLimit"] = settings.TryGetValue("KetamineCds:Security:RateLimit:PermitLimit", out var limit) ? limit : "1000000",
            // Signed requests are tested in Security/; here every other behaviour is tested without them.
            ["KetamineCds:Security:RequireSignedRequests"] = settings.TryGetValue("KetamineCds:Security:RequireSignedRequests", out var v) ? v : "false",
            // Each test host keeps its feedback store in its own temporary SQLite file.
            ["KetamineCds:Storage:SqlitePath"] = settings.TryGetValue("KetamineCds:Storage:SqlitePath", out var path) ? path
                : Path.Combine(Path.GetTempPath(), "kcds-api-tests", Guid.NewGuid().ToString("N") + ".db"),
        };
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
    }
}
