using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// The service's own traces and metrics (OpenTelemetry): per-stage timings of a hook call (parse, gather, rules,
/// render), cards by finding code, refusals by status and issue code; FHIR-server calls come from the HttpClient
/// instrumentation. Attributes carry service ids, stage names, finding codes and status codes only: never a patient
/// id, a resource, a token or a hookInstance (a correlation handle the EHR may reuse; the audit record keeps it).
/// Nothing is exported unless configured (section <c>KetamineCds:Telemetry</c>).
/// </summary>
public static class CdsTelemetry
{
    public const string Name = "KetamineCds";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> StageDuration = Meter.CreateHistogram<double>(
        "ketaminecds.hook.stage.duration", unit: "ms", description: "Time spent in each stage of a hook call");

    private static readonly Counter<long> Cards = Meter.CreateCounter<long>(
        "ketaminecds.cards", unit: "{card}", description: "Cards returned, by service and finding code");

    private static readonly Counter<long> Refusals = Meter.CreateCounter<long>(
        "ketaminecds.refusals", unit: "{request}", description: "Requests answered with an OperationOutcome, by HTTP status and issue code");

    /// <summary>Times one stage of a hook call: a span (when someone listens) and a histogram point.</summary>
    public static Stage Time(string stage, string serviceId) => new(stage, serviceId, Source.StartActivity(stage));

    public static void CardIssued(string serviceId, string findingCode) =>
        Cards.Add(1, new KeyValuePair<string, object?>("service", serviceId), new KeyValuePair<string, object?>("finding", findingCode));

    public static void Refused(int status, string code) =>
        Refusals.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("code", code));

    public readonly struct Stage : IDisposable
    {
        private readonly string _stage;
        private readonly string _serviceId;
        private readonly Activity? _activity;
        private readonly long _started;

        internal Stage(string stage, string serviceId, Activity? activity)
        {
            _stage = stage;
            _serviceId = serviceId;
            _activity = activity;
            _started = Stopwatch.GetTimestamp();
            activity?.SetTag("ketaminecds.service", serviceId);
        }

        public void Dispose()
        {
            StageDuration.Record(Stopwatch.GetElapsedTime(_started).TotalMilliseconds,
                new KeyValuePair<string, object?>("stage", _stage), new KeyValuePair<string, object?>("service", _serviceId));
            _activity?.Dispose();
        }
    }
}

/// <summary>Telemetry settings (section <c>KetamineCds:Telemetry</c>); everything is off by default.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "KetamineCds:Telemetry";

    /// <summary>An OTLP collector (e.g. http://otel-collector:4317); traces and metrics are exported there when set.</summary>
    [Url]
    public string? OtlpEndpoint { get; set; }

    /// <summary>Serves Prometheus metrics at <see cref="PrometheusPath"/> (keep it off the public listener: docs/deploy).</summary>
    public bool PrometheusEnabled { get; set; }

    public string PrometheusPath { get; set; } = "/metrics";
}

public static class TelemetryServiceCollectionExtensions
{
    public static IServiceCollection AddKetamineCdsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var options = configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (options.OtlpEndpoint is null && !options.PrometheusEnabled)
        {
            return services;
        }

        var telemetry = services.AddOpenTelemetry().ConfigureResource(r => r.AddService("ketaminecds"));
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(CdsTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation();
            if (options.PrometheusEnabled)
            {
                metrics.AddPrometheusExporter();
            }

            if (options.OtlpEndpoint is { } endpoint)
            {
                metrics.AddOtlpExporter(o => o.Endpoint = new Uri(endpoint));
            }
        });
        if (options.OtlpEndpoint is { } traceEndpoint)
        {
            // Spans of the stages, the inbound request (route template, status) and outbound FHIR-server calls. The
            // instrumentations redact query strings; the FHIR server's URLs name the patient in the query, so outbound
            // spans record only scheme, host and path.
            telemetry.WithTracing(tracing => tracing
                .AddSource(CdsTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation(o => o.EnrichWithHttpRequestMessage = (activity, request) =>
                    activity.SetTag("url.full", request.RequestUri is { } uri ? uri.GetLeftPart(UriPartial.Path) : null))
                .AddOtlpExporter(o => o.Endpoint = new Uri(traceEndpoint)));
        }

        return services;
    }

    /// <summary>Maps the Prometheus scrape endpoint when enabled.</summary>
    public static WebApplication MapKetamineCdsTelemetry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (options.PrometheusEnabled)
        {
            app.MapPrometheusScrapingEndpoint(options.PrometheusPath);
        }

        return app;
    }
}
