using KetamineCds.Api.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Api.Tests.Support;

/// <summary>The service's core (knowledge, screens, gatherer, rules, cards) wired as the host wires it, without HTTP; built and warmed once per test run.</summary>
public static class InProcessCore
{
    private static readonly Lazy<IServiceProvider> Provider = new(() =>
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>()).Build();
        var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddSingleton<IConfiguration>(configuration)
            .AddKetamineCdsCore()
            .BuildServiceProvider();
        Warmup.RunAsync(services).GetAwaiter().GetResult();
        return services;
    });

    public static IServiceProvider Services => Provider.Value;
}
