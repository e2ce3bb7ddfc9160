using KetamineCds.Api.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Benchmarks;

/// <summary>The service's core (<c>AddKetamineCdsCore</c>) over in-memory settings, warmed as the service warms before
/// readiness: what every in-process benchmark starts from.</summary>
public static class WarmCore
{
    public static ServiceProvider Start(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddSingleton<IConfiguration>(configuration)
            .AddKetamineCdsCore()
            .BuildServiceProvider();
        Warmup.RunAsync(services).GetAwaiter().GetResult();
        return services;
    }
}
