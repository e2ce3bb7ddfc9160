using System.Net;
using KetamineCds.SmartApp;
using KetamineCds.SmartApp.Session;
using KetamineCds.SmartApp.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KetamineCds.SmartApp.Tests.App;

/// <summary>
/// The whole Api host (CDS service and /app) on Kestrel, 127.0.0.1 on a free port, with the test FHIR server's iss on the
/// app's allow-list. One per test run: the first test of the SMART collection starts it, the process end stops it.
/// </summary>
public sealed class SmartAppHost : WebApplicationFactory<Program>
{
    public const string EhrName = "test-ehr";
    public const string PublicClientId = "ketamine-app-public";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static SmartAppHost? _shared;

    private readonly string _fhirBase;
    private readonly string _ehrFrameOrigin;
    private readonly IReadOnlyDictionary<string, string?> _settings;

    private SmartAppHost(string fhirBase, string ehrFrameOrigin, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _fhirBase = fhirBase;
        _ehrFrameOrigin = ehrFrameOrigin;
        _settings = settings ?? new Dictionary<string, string?>();
    }

    /// <summary>A stand-in EHR web page on its own loopback origin that frames the app (EhrFrameTests); the app allows it
    /// in its CSP frame-ancestors, as a site configures its EHR's origin.</summary>
    public static LoopbackPage? EhrFrame { get; private set; }

    /// <summary>http://127.0.0.1:port (no trailing slash).</summary>
    public string BaseUrl { get; private set; } = "";

    public string RedirectUri => BaseUrl + "/app/callback";

    public SmartAppOptions AppOptions => Services.GetRequiredService<IOptions<SmartAppOptions>>().Value;

    public ISmartSessionStore Store => Services.GetRequiredService<ISmartSessionStore>();

    public static async Task<SmartAppHost> SharedAsync(SmartServersFixture servers)
    {
        await Gate.WaitAsync();
        try
        {
            if (_shared is null)
            {
                EhrFrame = await LoopbackPage.StartAsync();
                var host = Start(new SmartAppHost(servers.FhirBaseUrl, EhrFrame.Origin));
                AppDomain.CurrentDomain.ProcessExit += (_, _) => host.Dispose();
                _shared = host;
            }

            // The servers may have been reset by another test class: (re-)register the app's client each time.
            await servers.RegisterClientAsync(new SmartClientRegistration(PublicClientId, [_shared.RedirectUri], SmartTestData.AppScopesV2 + " patient/*.read"));
            return _shared;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// Another host of the app, besides the shared one, with settings of its own (e.g. a Redis for two instances); the
    /// caller disposes it. The app's client is not registered for it: the caller registers the redirect URIs it needs.
    /// </summary>
    public static SmartAppHost StartAnother(SmartServersFixture servers, IReadOnlyDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(servers);
        return Start(new SmartAppHost(servers.FhirBaseUrl, "http://127.0.0.1:1", settings));
    }

    private static SmartAppHost Start(SmartAppHost host)
    {
        host.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        host.StartServer();
        host.BaseUrl = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => a.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/'))
            .First(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        return host;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(new Dictionary<string, string?>(_settings)
        {
            ["KetamineCds:SmartApp:AllowHttpLoopback"] = "true",
            ["KetamineCds:SmartApp:FrameAncestors:0"] = _ehrFrameOrigin,
            ["KetamineCds:SmartApp:FhirCircuitBreakSeconds"] = "1",
            ["KetamineCds:SmartApp:Ehrs:0:Name"] = EhrName,
            ["KetamineCds:SmartApp:Ehrs:0:Iss"] = _fhirBase,
            ["KetamineCds:SmartApp:Ehrs:0:ClientId"] = PublicClientId,
            ["KetamineCds:SmartApp:Ehrs:0:ClientAuthentication"] = "None",
        }));
    }

    /// <summary>
    /// Switches the one EHR registration to another client (confidential, asymmetric) for one test, and back on dispose.
    /// The host is shared, so tests of the collection run one at a time (xunit runs a collection sequentially).
    /// </summary>
    public IDisposable UseClient(string name, string clientId, SmartClientAuthentication authentication, string? secret = null,
        string? privateKeyPem = null, string? algorithm = null, string? keyId = null, IEnumerable<string>? extraScopes = null)
    {
        var ehr = AppOptions.Ehrs[0];
        var saved = (ehr.Name, ehr.ClientId, ehr.ClientAuthentication, ehr.ClientSecret, ehr.PrivateKeyPem, ehr.SigningAlgorithm, ehr.KeyId, ehr.ExtraScopes);
        ehr.Name = name;
        ehr.ClientId = clientId;
        ehr.ClientAuthentication = authentication;
        ehr.ClientSecret = secret;
        ehr.PrivateKeyPem = privateKeyPem;
        ehr.SigningAlgorithm = algorithm ?? "ES384";
        ehr.KeyId = keyId;
        ehr.ExtraScopes = extraScopes?.ToList() ?? [];
        return new Restore(() =>
        {
            (ehr.Name, ehr.ClientId, ehr.ClientAuthentication, ehr.ClientSecret, ehr.PrivateKeyPem, ehr.SigningAlgorithm, ehr.KeyId, ehr.ExtraScopes) = saved;
        });
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
