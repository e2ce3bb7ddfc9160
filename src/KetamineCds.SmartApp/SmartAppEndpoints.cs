using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using KetamineCds.Clinical.Rules;
using KetamineCds.SmartApp.Data;
using KetamineCds.SmartApp.Launch;
using KetamineCds.SmartApp.Pages;
using KetamineCds.SmartApp.Session;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KetamineCds.SmartApp;

/// <summary>
/// The app's routes under /app: launch (EHR and standalone), callback, the patient page, the public evidence page and the
/// stylesheet. Every failure is a plain page (never a 500, a stack trace or a token).
/// </summary>
public static partial class SmartAppEndpoints
{
    public const string Prefix = "/app";
    internal const string SessionCookie = "kcds-session";
    internal const string BindingCookie = "kcds-launch";

    public static IEndpointRouteBuilder MapSmartApp(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(Prefix).ExcludeFromDescription();
        group.MapGet("/launch", LaunchAsync);
        group.MapGet("/callback", CallbackAsync);
        group.MapGet("/patient", PatientAsync);
        group.MapGet("/evidence", Evidence);
        group.MapGet("/", Index);
        group.MapGet("/assets/app.css", Stylesheet);
        return endpoints;
    }

    private static async Task LaunchAsync(HttpContext context, SmartEhrRegistry registry, SmartAuthorizationClient oauth, ISmartSessionStore store,
        IOptions<SmartAppOptions> options, SmartAppBaseUrl baseUrl, TimeProvider time, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(SmartAppEndpoints));
        var query = context.Request.Query;
        try
        {
            // iss is untrusted: matched against the registrations before anything is fetched from or redirected to it.
            if (!registry.TryMatch(query["iss"].ToString(), out var ehr, out var reason))
            {
                LogLaunchRefused(logger, "unknown-iss");
                throw new SmartProblemException(SmartProblemKind.UnknownIss, $"The app was not opened: {reason}.");
            }

            var launch = query["launch"].ToString();
            if (launch.Length > 2048)
            {
                throw new SmartProblemException(SmartProblemKind.UnknownIss, "The app was not opened: the launch parameter is too long.");
            }

            var standalone = launch.Length == 0;
            var configuration = await DiscoverAsync(oauth, ehr, context.RequestAborted);
            var scope = SmartScopes.For(configuration.V1Only, standalone, ehr.Registration.ExtraScopes);
            var state = Duende.IdentityModel.CryptoRandom.CreateUniqueId(32, Duende.IdentityModel.CryptoRandom.OutputFormat.Base64Url);
            var binding = Duende.IdentityModel.CryptoRandom.CreateUniqueId(32, Duende.IdentityModel.CryptoRandom.OutputFormat.Base64Url);
            var verifier = SmartAuthorizationClient.NewCodeVerifier();
            var redirectUri = baseUrl.Resolve(context) + Prefix + "/callback";
            await store.AddLaunchAsync(new PendingLaunch(state, binding, ehr.Registration.Name, ehr.FhirBase, configuration.TokenEndpoint, verifier, redirectUri, scope,
                standalone, AppContextFinding(query["appContext"].ToString()), time.GetUtcNow().AddSeconds(options.Value.LaunchTimeoutSeconds)), context.RequestAborted);
            SetCookie(context, BindingCookie, binding, TimeSpan.FromSeconds(options.Value.LaunchTimeoutSeconds));
            LogLaunch(logger, ehr.Registration.Name, standalone ? "standalone" : "ehr", configuration.V1Only ? "v1" : "v2");
            NoStore(context);
            context.Response.Redirect(SmartAuthorizationClient.AuthorizeUrl(configuration, ehr, scope, redirectUri, state, verifier, standalone ? null : launch));
        }
        catch (SmartProblemException problem)
        {
            await ProblemAsync(context, problem);
        }
    }

    private static async Task CallbackAsync(HttpContext context, ISmartSessionStore store, SmartEhrRegistry registry, SmartAuthorizationClient oauth,
        IOptions<SmartAppOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(SmartAppEndpoints));
        var query = context.Request.Query;
        try
        {
            var state = query["state"].ToString();
            var launch = state.Length is > 0 and <= 256 ? await store.TakeLaunchAsync(state, context.RequestAborted) : null;
            var binding = context.Request.Cookies[CookieName(context, BindingCookie)];
            if (launch is null || binding is null
                || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(binding), Encoding.ASCII.GetBytes(launch.BrowserBinding)))
            {
                LogLaunchRefused(logger, launch is null ? "state-unknown-or-used" : "state-other-browser");
                throw new SmartProblemException(SmartProblemKind.StateInvalid, "The sign-in could not be completed: its state is unknown, already used, expired, or from another browser.");
            }

            DeleteCookie(context, BindingCookie);
            if (query["error"].ToString() is { Length: > 0 } error)
            {
                LogLaunchRefused(logger, "authorization-error");
                throw new SmartProblemException(SmartProblemKind.AuthorizationDenied, $"The EHR's authorization server answered: {SafeToken(error)}.");
            }

            var code = query["code"].ToString();
            if (code.Length is 0 or > 4096)
            {
                throw new SmartProblemException(SmartProblemKind.AuthorizationDenied, "The EHR's authorization server sent no authorization code.");
            }

            if (!registry.TryMatch(launch.FhirBase.AbsoluteUri, out var ehr, out _))
            {
                throw new SmartProblemException(SmartProblemKind.UnknownIss, "The EHR is no longer registered with this app.");
            }

            var tokens = await ExchangeAsync(() => oauth.ExchangeCodeAsync(ehr.Registration, launch.TokenEndpoint, code, launch.RedirectUri, launch.CodeVerifier, context.RequestAborted));
            if (tokens.Patient is not { } patient || !FhirId().IsMatch(patient))
            {
                LogLaunchRefused(logger, "no-patient");
                throw new SmartProblemException(SmartProblemKind.NoPatient, "The EHR's token response named no patient (or a patient id that is not a FHIR id).");
            }

            var now = time.GetUtcNow();
            var tokenExpires = now.AddSeconds(tokens.ExpiresInSeconds > 0 ? tokens.ExpiresInSeconds : 3600);
            var sessionEnd = now.AddSeconds(options.Value.MaxSessionSeconds);
            var session = new SmartSession(
                Duende.IdentityModel.CryptoRandom.CreateUniqueId(32, Duende.IdentityModel.CryptoRandom.OutputFormat.Base64Url),
                ehr.Registration.Name, launch.FhirBase, launch.TokenEndpoint, tokens.AccessToken, tokens.RefreshToken, patient, tokens.Scope,
                AppContextFinding(tokens.AppContext) ?? launch.AppContext,
                tokenExpires,
                tokens.RefreshToken is null ? (tokenExpires < sessionEnd ? tokenExpires : sessionEnd) : sessionEnd);
            await store.SaveSessionAsync(session, context.RequestAborted);
            // A browser-session cookie: the server decides when the session ends (with its token), and says so on the page.
            SetCookie(context, SessionCookie, session.Id, null);
            LogSignedIn(logger, ehr.Registration.Name, tokens.RefreshToken is not null);
            NoStore(context);
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            context.Response.Headers.Location = Prefix + "/patient" + (session.AppContext is { } finding ? "#" + finding : "");
        }
        catch (SmartProblemException problem)
        {
            await ProblemAsync(context, problem);
        }
    }

    private static async Task PatientAsync(HttpContext context, ISmartSessionStore store, SmartEhrRegistry registry, SmartAuthorizationClient oauth,
        SmartFhirReader reader, PatientPage page, TimeProvider time, ILoggerFactory loggers)
    {
        try
        {
            var id = context.Request.Cookies[CookieName(context, SessionCookie)];
            var session = id is { Length: > 0 and <= 128 } ? await store.FindSessionAsync(id, context.RequestAborted) : null;
            if (session is null)
            {
                // A cookie whose session is gone: it ended with its access token (or the service restarted).
                if (id is not null)
                {
                    DeleteCookie(context, SessionCookie);
                }

                throw id is null
                    ? new SmartProblemException(SmartProblemKind.NoSession, "There is no signed-in session in this browser.")
                    : new SmartProblemException(SmartProblemKind.SessionExpired, "Your session ended when the EHR's access token expired (or the app restarted).");
            }

            if (session.TokenExpires <= time.GetUtcNow())
            {
                session = await RefreshAsync(context, session, store, registry, oauth, time, loggers.CreateLogger(typeof(SmartAppEndpoints)));
            }

            PatientPageModel model;
            try
            {
                model = await reader.LoadAsync(session, session.AppContext, context.RequestAborted);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                throw new SmartProblemException(SmartProblemKind.FhirUnavailable, "The EHR's FHIR server could not be reached.", ex);
            }

            await HtmlAsync(context, StatusCodes.Status200OK, page.Render(model));
        }
        catch (SmartProblemException problem)
        {
            await ProblemAsync(context, problem);
        }
    }

    private static async Task<SmartSession> RefreshAsync(HttpContext context, SmartSession session, ISmartSessionStore store, SmartEhrRegistry registry,
        SmartAuthorizationClient oauth, TimeProvider time, ILogger logger)
    {
        if (session.RefreshToken is not { } refreshToken || !registry.TryMatch(session.FhirBase.AbsoluteUri, out var ehr, out _))
        {
            await store.RemoveSessionAsync(session.Id, context.RequestAborted);
            DeleteCookie(context, SessionCookie);
            throw new SmartProblemException(SmartProblemKind.SessionExpired, "The EHR's access token has expired and the EHR granted no refresh token.");
        }

        SmartTokens tokens;
        try
        {
            tokens = await ExchangeAsync(() => oauth.RefreshAsync(ehr.Registration, session.TokenEndpoint, refreshToken, context.RequestAborted));
        }
        catch (SmartProblemException)
        {
            await store.RemoveSessionAsync(session.Id, context.RequestAborted);
            DeleteCookie(context, SessionCookie);
            throw new SmartProblemException(SmartProblemKind.SessionExpired, "The EHR's access token has expired and the EHR refused to renew it.");
        }

        var now = time.GetUtcNow();
        var renewed = session with
        {
            AccessToken = tokens.AccessToken,
            RefreshToken = tokens.RefreshToken ?? refreshToken,
            TokenExpires = now.AddSeconds(tokens.ExpiresInSeconds > 0 ? tokens.ExpiresInSeconds : 3600),
            Scope = tokens.Scope ?? session.Scope,
        };
        await store.SaveSessionAsync(renewed, context.RequestAborted);
        LogRefreshed(logger, session.EhrName);
        return renewed;
    }

    private static Task Evidence(HttpContext context, EvidenceText evidence) =>
        HtmlAsync(context, StatusCodes.Status200OK, EvidencePage.Render(evidence));

    private static Task Index(HttpContext context) =>
        HtmlAsync(context, StatusCodes.Status200OK, Layout.Page("SMART app", h => h
            .El("h1", "KetamineCds SMART app")
            .El("p", "Open this app from a patient's chart in your EHR; it shows the patient's ketamine or esketamine course, medications and the evidence.")
            .Raw("<p><a href=\"/app/evidence\">Read the evidence summary (no sign-in needed)</a></p>")));

    private static async Task Stylesheet(HttpContext context)
    {
        SecurityHeaders(context);
        context.Response.Headers.CacheControl = "public, max-age=3600";
        context.Response.ContentType = "text/css; charset=utf-8";
        await context.Response.WriteAsync(SmartAppAssets.Stylesheet, context.RequestAborted);
    }

    private static async Task<SmartConfiguration> DiscoverAsync(SmartAuthorizationClient oauth, MatchedEhr ehr, CancellationToken cancellationToken)
    {
        try
        {
            return await oauth.DiscoverAsync(ehr, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or JsonException or InvalidOperationException)
        {
            throw new SmartProblemException(SmartProblemKind.DiscoveryFailed, "The EHR's SMART configuration could not be read.", ex);
        }
    }

    private static async Task<SmartTokens> ExchangeAsync(Func<Task<SmartTokens>> exchange)
    {
        try
        {
            return await exchange();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or JsonException)
        {
            throw new SmartProblemException(SmartProblemKind.TokenRefused, "The EHR's token endpoint could not be reached.", ex);
        }
    }

    /// <summary>The finding code of an appContext ({"finding": "...", "hookInstance": "..."}), only when it is one of ours.</summary>
    internal static string? AppContextFinding(string? appContext)
    {
        if (string.IsNullOrWhiteSpace(appContext) || appContext.Length > 4096)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(appContext);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("finding", out var finding) && finding.ValueKind == JsonValueKind.String
                   && KnownFindings.Contains(finding.GetString()!)
                ? finding.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static readonly HashSet<string> KnownFindings = new(StringComparer.Ordinal)
    {
        FindingCodes.LamotrigineConcurrent, FindingCodes.BenzodiazepineThreshold, FindingCodes.BenzodiazepineBorderline,
        FindingCodes.BenzodiazepineDoseUnknown, FindingCodes.KetamineCourse, FindingCodes.PatientDataUnreadable,
    };

    private static Task ProblemAsync(HttpContext context, SmartProblemException problem)
    {
        var (status, _, _) = ErrorPage.Describe(problem.Kind);
        return HtmlAsync(context, status, ErrorPage.Render(problem.Kind, problem.Detail));
    }

    internal static async Task HtmlAsync(HttpContext context, int status, string html)
    {
        SecurityHeaders(context);
        NoStore(context);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(html, context.RequestAborted);
    }

    /// <summary>
    /// No script at all, styles only from the app, no framing except by the configured EHR origins, no referrer (the URL
    /// of the callback carries the code; the patient page should leak nothing to a followed link).
    /// </summary>
    internal static void SecurityHeaders(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<SmartAppOptions>>().Value;
        var ancestors = string.Join(' ', options.FrameAncestors.Where(IsOrigin).Prepend("'self'"));
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = $"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups";
    }

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp)
        && url.AbsolutePath == "/" && string.IsNullOrEmpty(url.Query) && !value.Contains(';', StringComparison.Ordinal) && !value.Contains(' ', StringComparison.Ordinal);

    private static void NoStore(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
    }

    /// <summary>
    /// Cookies: HttpOnly always. Over https: Secure, SameSite=None (so the session survives inside an EHR iframe where the
    /// browser allows third-party cookies) and the __Host- prefix. Over plain http (loopback only): SameSite=Lax, not
    /// Secure, so local trial works in a top-level window (not in a cross-site iframe; docs/smart-app.md).
    /// </summary>
    private static void SetCookie(HttpContext context, string name, string value, TimeSpan? lifetime)
    {
        var secure = context.Request.IsHttps;
        context.Response.Cookies.Append(CookieName(context, name), value, new CookieOptions
        {
            HttpOnly = true,
            Secure = secure,
            SameSite = secure ? SameSiteMode.None : SameSiteMode.Lax,
            Path = "/",
            MaxAge = lifetime,
            IsEssential = true,
        });
    }

    private static void DeleteCookie(HttpContext context, string name)
    {
        var secure = context.Request.IsHttps;
        context.Response.Cookies.Delete(CookieName(context, name), new CookieOptions
        {
            HttpOnly = true,
            Secure = secure,
            SameSite = secure ? SameSiteMode.None : SameSiteMode.Lax,
            Path = "/",
        });
    }

    private static string CookieName(HttpContext context, string name) => context.Request.IsHttps ? "__Host-" + name : name;

    private static string SafeToken(string value) => value.Length <= 64 && OAuthToken().IsMatch(value) ? value : "an error";

    [GeneratedRegex("^[A-Za-z0-9_.-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex OAuthToken();

    /// <summary>A FHIR resource id (FHIR R4 id datatype).</summary>
    [GeneratedRegex("^[A-Za-z0-9.-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex FhirId();

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "SMART launch: ehr={Ehr} kind={Kind} scopes={Scopes}")]
    private static partial void LogLaunch(ILogger logger, string ehr, string kind, string scopes);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning, Message = "SMART launch refused: reason={Reason}")]
    private static partial void LogLaunchRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Information, Message = "SMART sign-in: ehr={Ehr} refreshable={Refreshable}")]
    private static partial void LogSignedIn(ILogger logger, string ehr, bool refreshable);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Information, Message = "SMART token refreshed: ehr={Ehr}")]
    private static partial void LogRefreshed(ILogger logger, string ehr);
}
