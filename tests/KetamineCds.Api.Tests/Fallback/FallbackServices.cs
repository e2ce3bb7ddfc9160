using KetamineCds.Api.FhirAccess;
using KetamineCds.Fhir.Fallback;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KetamineCds.Api.Tests.Fallback;

public static class FallbackServices
{
    /// <summary>The fallback as the service registers it, with a counting handler just in front of the socket handler.</summary>
    public static ServiceProvider Build(IReadOnlyList<(string Url, bool AllowPrivate)> servers, bool allowHttpLoopback, out CountingHandler.Counts counter, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["KetamineCds:FhirFallback:AllowHttpLoopback"] = allowHttpLoopback ? "true" : "false",
            ["KetamineCds:FhirFallback:DeadlineMilliseconds"] = "2000",
        };
        for (var i = 0; i < servers.Count; i++)
        {
            settings[$"KetamineCds:FhirServers:{i}:BaseUrl"] = servers[i].Url;
            settings[$"KetamineCds:FhirServers:{i}:AllowPrivateAddress"] = servers[i].AllowPrivate ? "true" : "false";
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var counts = new CountingHandler.Counts();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddFhirFallback(configuration);
        services.AddHttpClient(FhirHttp.ClientName).AddHttpMessageHandler(() => new CountingHandler(counts));
        counter = counts;
        return services.BuildServiceProvider();
    }
}
