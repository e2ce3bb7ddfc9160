using System.Security.Cryptography;
using KetamineCds.Api.Audit;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using AspNetCorsOptions = Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions;

namespace KetamineCds.Api.Security;

/// <summary>
/// Wiring for the trust boundary: CDS client JWTs, authorization policies, per-issuer rate limits, the CORS allow-list,
/// the audit trail and the Development issuer. Program.cs calls <see cref="AddCdsClientAuthentication"/> and
/// <see cref="UseCdsSecurity"/>; the rest lives in this folder.
/// </summary>
public static partial class CdsSecurity
{
    public const string Scheme = "CdsClientJwt";
    public const string ClientPolicy = "CdsClient";
    public const string DiscoveryPolicy = "CdsDiscovery";
    public const string CorsPolicy = "CdsOrigins";
    public const string DevelopmentJwksPath = "/.well-known/ketamine-cds-dev/jwks.json";

    public static bool IsDevelopmentOrTesting(IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return environment.IsDevelopment() || environment.IsEnvironment("Testing");
    }

    public static IServiceCollection AddCdsClientAuthentication(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CdsSecurityOptions>().BindConfiguration(CdsSecurityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CdsSecurityOptions>, CdsSecurityOptionsValidator>();
        services.AddSingleton<IValidateOptions<KetamineCds.Fhir.Fallback.FhirFallbackOptions>, FhirFallbackDeploymentValidator>();
        services.AddSingleton<ITrustedClientRegistry>(sp => CreateRegistry(sp, environment));
        services.AddSingleton<JwksCache>();
        services.AddSingleton<CdsJwtBearerEvents>();
        services.AddHttpClient(JwksCache.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });

        services.AddAuthentication().AddJwtBearer(Scheme);
        services.AddOptions<JwtBearerOptions>(Scheme)
            .Configure<ITrustedClientRegistry, CdsJwtBearerEvents, IOptions<CdsSecurityOptions>>((jwt, registry, events, security) =>
            {
                var settings = security.Value;
                jwt.EventsType = typeof(CdsJwtBearerEvents);
                jwt.MapInboundClaims = false;
                jwt.SaveToken = false;
                jwt.IncludeErrorDetails = false;
                jwt.RefreshOnIssuerKeyNotFound = false;
                // The same validation as JwtBearer's default JsonWebTokenHandler, without parsing the token a second time.
                jwt.TokenHandlers.Clear();
                jwt.TokenHandlers.Add(new PreparsedTokenHandler { MapInboundClaims = false });
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidIssuers = [.. registry.All.Select(c => c.Issuer)],
                    ValidateAudience = true,
                    ValidAudiences = ServiceAudiences(settings.PublicBaseUrl),
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    ValidateIssuerSigningKey = true,
                    ValidAlgorithms = [.. registry.All.SelectMany(c => c.Algorithms).Distinct(StringComparer.Ordinal)],
                    ClockSkew = TimeSpan.FromSeconds(settings.ClockSkewSeconds),
                    TryAllIssuerSigningKeys = false,
                    IssuerSigningKeyResolver = (_, token, kid, _) => events.ResolveSigningKeys(token, kid),
                    NameClaimType = "sub",
                };
            });

        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<CdsSecurityOptions>>((authorization, security) =>
        {
            var signed = security.Value.RequireSignedRequests;
            authorization.AddPolicy(ClientPolicy, signed ? RequireClient() : AllowAnyone());
            authorization.AddPolicy(DiscoveryPolicy, signed && !security.Value.AllowAnonymousDiscovery ? RequireClient() : AllowAnyone());
        });

        // Per-issuer rate limit, then the jti replay store (CdsAdmissionMiddleware): in memory, or shared on Redis when
        // KetamineCds:Redis:Configuration is set (several instances behind a load balancer; docs/deploy/).
        services.AddCdsSharedState();

        services.AddCors();
        services.AddOptions<AspNetCorsOptions>().Configure<IOptions<CdsSecurityOptions>>((cors, security) =>
            cors.AddPolicy(CorsPolicy, policy => policy
                .WithOrigins([.. security.Value.Cors.AllowedOrigins.Select(NormalizeOrigin).OfType<string>()])
                .WithMethods(HttpMethods.Get, HttpMethods.Post)
                .WithHeaders("Authorization", "Content-Type")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));

        services.AddSingleton(sp => new PatientIdHasher(AuditKey(sp, environment)));
        services.AddSingleton<IAuditSink, HookAuditSink>();
        return services;
    }

    /// <summary>
    /// The security middleware, in order: audit (outermost, so refusals are recorded), origin allow-list (403), CORS,
    /// authentication, authorization (401), admission: per-issuer rate limit (429) and only then the jti replay store
    /// (401 replay; 503 when a shared store is down). Also maps the Development JWKS when active.
    /// </summary>
    public static WebApplication UseCdsSecurity(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var settings = app.Services.GetRequiredService<IOptions<CdsSecurityOptions>>().Value;
        var registry = app.Services.GetRequiredService<ITrustedClientRegistry>();
        app.Services.GetRequiredService<PatientIdHasher>();
        if (app.Services.GetRequiredService<IOptions<RedisStateOptions>>().Value.Enabled)
        {
            // Connect before the first call arrives; an unreachable Redis keeps reconnecting (and replay checks fail closed).
            app.Services.GetRequiredService<RedisConnection>().Connect();
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CdsSecurity).FullName!);
        LogStartup(logger, app.Environment, settings, registry);

        app.UseMiddleware<AuditMiddleware>();
        app.UseMiddleware<OriginAllowListMiddleware>();
        app.UseCors(CorsPolicy);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<CdsAdmissionMiddleware>();

        if (app.Environment.IsDevelopment() && registry.Find(DevelopmentIssuer.Issuer) is { } development)
        {
            app.MapGet(DevelopmentJwksPath, () => TypedResults.Json(new { keys = development.InlineKeys.Select(PublicMembers) }))
                .WithName("DevelopmentJwks");
        }

        return app;
    }

    /// <summary>The audiences of every service endpoint (and its feedback endpoint) under the public base URL.</summary>
    public static List<string> ServiceAudiences(string? publicBaseUrl)
    {
        var baseUrl = publicBaseUrl?.TrimEnd('/');
        return string.IsNullOrEmpty(baseUrl)
            ? []
            : [.. CdsServiceCatalog.All.SelectMany(s => new[] { $"{baseUrl}/cds-services/{s.Descriptor.Id}", $"{baseUrl}/cds-services/{s.Descriptor.Id}/feedback" })];
    }

    /// <summary>scheme://host[:port] in canonical form, or null for anything else (paths, wildcards, "null").</summary>
    public static string? NormalizeOrigin(string? origin)
    {
        if (string.IsNullOrWhiteSpace(origin) || origin.Contains('*', StringComparison.Ordinal)
            || !Uri.TryCreate(origin, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)
            || url.PathAndQuery != "/" || !string.IsNullOrEmpty(url.UserInfo))
        {
            return null;
        }

        return url.GetLeftPart(UriPartial.Authority);
    }

    private static AuthorizationPolicy RequireClient() =>
        new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().Build();

    private static AuthorizationPolicy AllowAnyone() =>
        new AuthorizationPolicyBuilder().RequireAssertion(_ => true).Build();

    private static TrustedClientRegistry CreateRegistry(IServiceProvider services, IHostEnvironment environment)
    {
        var settings = services.GetRequiredService<IOptions<CdsSecurityOptions>>().Value;
        var errors = new List<string>();
        var clients = settings.Clients.Select((c, i) => TrustedClientRegistry.Parse(c, i, errors)).OfType<TrustedClient>().ToList();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(CdsSecurityOptions.Section, typeof(CdsSecurityOptions), errors);
        }

        // The Development issuer exists only in Development and only while no real client is configured.
        if (clients.Count == 0 && environment.IsDevelopment() && settings.RequireSignedRequests)
        {
            var signingKey = DevelopmentIssuer.LoadOrCreateSigningKey(DevKeysDirectory(settings, environment));
            clients.Add(new TrustedClient(DevelopmentIssuer.Issuer, null, [DevelopmentIssuer.PublicJwk(signingKey)], [],
                [DevelopmentIssuer.Algorithm], []));
        }

        return new TrustedClientRegistry(clients);
    }

    private static byte[] AuditKey(IServiceProvider services, IHostEnvironment environment)
    {
        var settings = services.GetRequiredService<IOptions<CdsSecurityOptions>>().Value;
        if (!string.IsNullOrWhiteSpace(settings.Audit.PatientIdHashKey)
            && CdsSecurityOptionsValidator.TryDecodeKey(settings.Audit.PatientIdHashKey, out var configured))
        {
            return configured;
        }

        if (environment.IsDevelopment())
        {
            return DevelopmentIssuer.LoadOrCreateSecret(DevKeysDirectory(settings, environment), "audit-patient-hmac.key", 32);
        }

        // Testing, or a deployment with no trusted client (which answers nothing): a per-process key.
        return RandomNumberGenerator.GetBytes(32);
    }

    private static string DevKeysDirectory(CdsSecurityOptions settings, IHostEnvironment environment) =>
        settings.DevKeysDirectory
        ?? DevelopmentIssuer.FindDefaultDirectory(environment.ContentRootPath, AppContext.BaseDirectory)
        ?? Path.Combine(environment.ContentRootPath, ".dev-keys");

    // The development key is EC; only its public members are served.
    private static object PublicMembers(JsonWebKey key) =>
        new { kty = key.Kty, kid = key.Kid, use = key.Use, alg = key.Alg, crv = key.Crv, x = key.X, y = key.Y };

    private static void LogStartup(ILogger logger, IHostEnvironment environment, CdsSecurityOptions settings, ITrustedClientRegistry registry)
    {
        if (!settings.RequireSignedRequests)
        {
            Log.UnsignedRequestsAccepted(logger, environment.EnvironmentName);
        }
        else if (registry.All.Count == 0)
        {
            Log.NoTrustedClients(logger, environment.EnvironmentName);
        }
        else if (registry.Find(DevelopmentIssuer.Issuer) is not null)
        {
            Log.DevelopmentIssuerActive(logger, DevelopmentIssuer.Issuer, DevelopmentJwksPath);
        }
        else
        {
            Log.TrustedClients(logger, registry.All.Count, string.Join(",", registry.All.Select(c => c.Issuer)));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3200, Level = LogLevel.Warning,
            Message = "No trusted CDS clients are configured (KetamineCds:Security:Clients): every hook call will be refused with 401. Environment={Environment}")]
        public static partial void NoTrustedClients(ILogger logger, string environment);

        [LoggerMessage(EventId = 3201, Level = LogLevel.Warning,
            Message = "KetamineCds:Security:RequireSignedRequests=false: hook calls are accepted WITHOUT a JWT. Environment={Environment}. Never in production.")]
        public static partial void UnsignedRequestsAccepted(ILogger logger, string environment);

        [LoggerMessage(EventId = 3202, Level = LogLevel.Warning,
            Message = "Development issuer active: iss={Issuer}, public key at {JwksPath}; sign requests with tools/KetamineCds.DevToken. Never in production.")]
        public static partial void DevelopmentIssuerActive(ILogger logger, string issuer, string jwksPath);

        [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "Trusted CDS clients: count={Count} issuers={Issuers}")]
        public static partial void TrustedClients(ILogger logger, int count, string issuers);
    }
}
