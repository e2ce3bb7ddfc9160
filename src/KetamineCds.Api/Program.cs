using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Feedback;
using KetamineCds.Api.FhirAccess;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Api.Security;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.SmartApp;

// Before anything else allocates from many threads: no glibc malloc arenas beyond those the runtime made before Main
// (ADR-18, Infrastructure/NativeAllocator).
NativeAllocator.CapArenas();

// Configuration is read once, at start-up (options are bound and validated on start, not monitored), so the JSON
// files are not watched: the default watcher covers the whole content root, where the SQLite feedback store writes
// its WAL, and it woke on every ledger write (about 1% of CPU under load: docs/performance.md). Listed first, so an
// operator's own --hostBuilder:reloadConfigOnChange still wins.
var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);

// Development listens where its signed-sample audience points (KetamineCds:Security:PublicBaseUrl), unless --urls or
// ASPNETCORE_URLS say otherwise; the launch profile sets only the environment, so both are always honoured.
if (builder.Environment.IsDevelopment() && string.IsNullOrEmpty(builder.Configuration["urls"])
    && builder.Configuration["KetamineCds:Security:PublicBaseUrl"] is { Length: > 0 } developmentUrl)
{
    builder.WebHost.UseUrls(developmentUrl);
}

builder.Services.AddKetamineCdsCore();

// Free native heap pages go back to the kernel once a minute (ADR-19, Infrastructure/NativeHeapTrimmer).
builder.Services.AddHostedService<NativeHeapTrimmer>();

// Trust boundary (Security/, Audit/): CDS client JWTs, per-issuer rate limits, CORS allow-list, audit trail. docs/security.md
builder.Services.AddCdsClientAuthentication(builder.Configuration, builder.Environment);

// FHIR-server fallback (FhirAccess/): allow-listed per issuer, SSRF-safe, Polly within a deadline. docs/fhir-fallback.md
builder.Services.AddSingleton<ConfiguredFhirServerAllowList>();
builder.Services.AddSingleton<KetamineCds.Fhir.Fallback.IFhirServerAllowList, TrustedClientFhirServerAllowList>();
builder.Services.AddFhirFallback(builder.Configuration);

// Feedback store, card ledger and snooze (Feedback/): SQLite by default, PostgreSQL by configuration. docs/feedback-store.md
builder.Services.AddFeedbackStore();

// OpenTelemetry traces and metrics (stage timings, cards by finding, refusals); off unless configured. docs/deploy
builder.Services.AddKetamineCdsTelemetry(builder.Configuration);

// SMART on FHIR app (/app): SMART App Launch client, server-side session, patient and evidence pages. docs/smart-app.md
builder.Services.AddSmartApp(builder.Configuration);

var app = builder.Build();
Log.NativeAllocatorConfigured(app.Logger, NativeAllocator.Outcome, NativeAllocator.ArenaMax);

// Errors never leak a stack trace: the boundary logs the type and answers an OperationOutcome.
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    // The framework's own diagnostics would log the exception with its message and stack; only the type is logged here.
    SuppressDiagnosticsCallback = _ => true,
    ExceptionHandler = context =>
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("KetamineCds.Errors");
        var error = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
        Log.Unhandled(logger, context.Request.Path, error?.GetType().Name ?? "unknown");
        return OperationOutcomes.WriteAsync(context, StatusCodes.Status500InternalServerError, "exception", "The service could not process this request.");
    },
});

// Audit, origin allow-list, CORS, authentication, authorization, rate limit (in that order).
app.UseCdsSecurity();

app.MapCdsHooks();
app.MapKetamineCdsTelemetry();

app.MapSmartApp();
app.MapGet("/healthz", () => TypedResults.Text("ok"));
app.MapGet("/readyz", (ClinicalKnowledge knowledge) => TypedResults.Text($"ready: {knowledge.Ingredients.Count} ingredients, {knowledge.Products.Count} products"));

// Open (create or migrate) the feedback store before accepting traffic.
app.Services.InitializeFeedbackStore();

// Load the knowledge and run one synthetic hook call before accepting traffic: readiness means the rules can run.
await Warmup.RunAsync(app.Services);
await app.RunAsync();

public partial class Program;
