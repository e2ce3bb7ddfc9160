using KetamineCds.Clinical.Knowledge;
using KetamineCds.Fhir.Fallback;
using KetamineCds.SmartApp.Data;
using KetamineCds.SmartApp.Launch;
using KetamineCds.SmartApp.Pages;
using KetamineCds.SmartApp.Session;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace KetamineCds.SmartApp;

public static class SmartAppServiceCollectionExtensions
{
    /// <summary>
    /// The SMART app: options (validated on start), the EHR registry, the OAuth client, the session store (in memory unless
    /// another <see cref="ISmartSessionStore"/> is registered first), the FHIR reader and the pages. Needs the clinical core
    /// of the host (AddKetamineCdsCore: ClinicalKnowledge, CdsEvaluator, AssessmentExtractor, ResourceScreen).
    /// </summary>
    public static IServiceCollection AddSmartApp(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<SmartAppOptions>()
            .BindConfiguration(SmartAppOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.Ehrs.All(e => e.Iss is { } iss && FhirServerUrls.IsPlainBase(iss)), "Every KetamineCds:SmartApp:Ehrs entry needs an absolute http(s) Iss without user info, query or fragment.")
            .Validate(o => o.Ehrs.All(e => !string.IsNullOrWhiteSpace(e.Name) && !string.IsNullOrWhiteSpace(e.ClientId)), "Every KetamineCds:SmartApp:Ehrs entry needs a Name and a ClientId.")
            .Validate(o => o.Ehrs.Select(e => e.Name).Distinct(StringComparer.Ordinal).Count() == o.Ehrs.Count, "KetamineCds:SmartApp:Ehrs names must be unique.")
            .Validate(o => o.Ehrs.All(e => e.ClientAuthentication != SmartClientAuthentication.ClientSecretBasic || !string.IsNullOrEmpty(e.ClientSecret)),
                "An EHR with ClientAuthentication ClientSecretBasic needs a ClientSecret.")
            .Validate(o => o.Ehrs.All(e => e.ClientAuthentication != SmartClientAuthentication.PrivateKeyJwt
                                           || (!string.IsNullOrWhiteSpace(e.PrivateKeyPem) && e.SigningAlgorithm is "ES384" or "RS384")),
                "An EHR with ClientAuthentication PrivateKeyJwt needs a PrivateKeyPem and SigningAlgorithm ES384 or RS384.")
            .Validate(o => o.Ehrs.All(e => e.Iss is not { } iss || iss.Scheme == Uri.UriSchemeHttps || (o.AllowHttpLoopback && iss.IsLoopback)),
                "An EHR Iss must use https (plain http only to loopback with AllowHttpLoopback).")
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISmartSessionStore, InMemorySmartSessionStore>();
        services.AddSingleton<SmartEhrRegistry>();
        services.AddSingleton<SmartAppBaseUrl>();
        services.AddSingleton<SmartAuthorizationClient>();
        services.AddSingleton<SmartFhirSettings>();
        services.AddSingleton<SmartFhirReader>();
        services.AddSingleton(sp => new EvidenceText(sp.GetRequiredService<ClinicalKnowledge>()));
        services.AddSingleton<PatientPage>();

        // Discovery and token requests: no redirects (a 3xx from a token endpoint is never followed), no cookies, no proxy.
        services.AddHttpClient(SmartAuthorizationClient.HttpClientName, (sp, client) =>
                client.Timeout = TimeSpan.FromMilliseconds(sp.GetRequiredService<IOptions<SmartAppOptions>>().Value.AuthorizationTimeoutMilliseconds))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                UseProxy = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            })
            .RemoveAllLoggers();

        // FHIR reads: the hooks' hardened handler (SSRF connect check, no redirects) and resilience handler, with the app's
        // own per-origin pipelines and limits (a person waits for a page; order entry does not).
        services.AddHttpClient(SmartFhirReader.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(FhirHttp.CreatePrimaryHandler)
            .AddHttpMessageHandler(sp =>
            {
                var settings = sp.GetRequiredService<SmartFhirSettings>();
                return new FhirResilienceHandler(settings.Pipelines, settings.Options);
            })
            .RemoveAllLoggers();
        return services;
    }
}
