using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Fallback;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.FhirAccess;

public static class FhirFallbackServiceCollectionExtensions
{
    /// <summary>
    /// The FHIR-server fallback: options (validated on start), the allow-list, the SSRF policy, one hardened named HTTP
    /// client with per-origin Polly pipelines, and <see cref="IFhirFallback"/>.
    /// </summary>
    public static IServiceCollection AddFhirFallback(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<FhirFallbackOptions>()
            .BindConfiguration(FhirFallbackOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.AttemptTimeoutMilliseconds <= o.DeadlineMilliseconds, "AttemptTimeoutMilliseconds must not exceed DeadlineMilliseconds.")
            .ValidateOnStart();

        // Read through DI's IConfiguration, lazily, so test hosts and environment variables override it.
        services.AddOptions<FhirServerAllowListOptions>()
            .Configure<IConfiguration>((o, config) => config.GetSection(FhirServerAllowListOptions.Section).Bind(o.Servers))
            .Validate(o => o.Servers.All(IsValidEntry), "Every KetamineCds:FhirServers entry needs an absolute http(s) BaseUrl without user info, query or fragment.")
            .ValidateOnStart();

        services.TryAddSingleton<IFhirServerAllowList, ConfiguredFhirServerAllowList>();
        services.TryAddSingleton<FhirServerPolicy>();
        services.TryAddSingleton<FhirResiliencePipelines>();

        services.AddHttpClient(FhirHttp.ClientName)
            .ConfigurePrimaryHttpMessageHandler(FhirHttp.CreatePrimaryHandler)
            .AddHttpMessageHandler(sp => new FhirResilienceHandler(
                sp.GetRequiredService<FhirResiliencePipelines>(), sp.GetRequiredService<IOptions<FhirFallbackOptions>>()))
            // The default HttpClient logs write full URLs, and a search URL carries the patient id.
            .RemoveAllLoggers();

        services.TryAddSingleton<IFhirFallback, FhirServerFallback>();
        return services;
    }

    private static bool IsValidEntry(FhirServerEntry entry) => entry.BaseUrl is { } url && FhirServerUrls.IsPlainBase(url);
}
