using KetamineCds.Api.Infrastructure;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Storage;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Feedback;

/// <summary>Registration of the feedback store, the card ledger writer and the snooze step (docs/feedback-store.md).</summary>
public static class FeedbackServices
{
    public static IServiceCollection AddFeedbackStore(this IServiceCollection services)
    {
        services.AddOptions<FeedbackStoreOptions>().BindConfiguration(FeedbackStoreOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Provider != "postgres" || !string.IsNullOrWhiteSpace(o.PostgresConnectionString),
                "KetamineCds:Storage:PostgresConnectionString is required when Provider is 'postgres'.")
            .Validate(o => o.Provider != "sqlite" || !string.IsNullOrWhiteSpace(o.SqlitePath), "KetamineCds:Storage:SqlitePath is required for SQLite.")
            .ValidateOnStart();

        // One store for ledger, feedback and review; schema created or migrated when first resolved (Program.cs resolves
        // it before the service listens, so a database that cannot be opened stops the start, not a clinician's call).
        services.AddSingleton<IKetamineCdsStore>(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<FeedbackStoreOptions>>().Value;
            var environment = sp.GetRequiredService<IHostEnvironment>();
            IKetamineCdsStore store = settings.Provider == "postgres"
                ? new PostgresKetamineCdsStore(settings.PostgresConnectionString!)
                : new SqliteKetamineCdsStore(Path.IsPathRooted(settings.SqlitePath) ? settings.SqlitePath : Path.Combine(environment.ContentRootPath, settings.SqlitePath));
            store.InitializeAsync(CancellationToken.None).GetAwaiter().GetResult();
            FeedbackLog.StoreReady(sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FeedbackServices).FullName!), store.Provider,
                store is SqliteKetamineCdsStore sqlite ? sqlite.Path : "postgres");
            return store;
        });
        services.AddSingleton<ICardLedger>(sp => sp.GetRequiredService<IKetamineCdsStore>());
        // The snooze step and the feedback handler share one view, so this instance's own overrides invalidate its cache.
        services.AddSingleton(sp => OverrideLookup(sp.GetRequiredService<IKetamineCdsStore>(),
            sp.GetRequiredService<IOptions<FeedbackStoreOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IFindingReviewStore>(sp => sp.GetRequiredService<IKetamineCdsStore>());

        // The override reasons our cards offer, from the same fhir-profiles artifacts as the rest of the knowledge.
        services.AddSingleton(sp => OverrideReasonCatalog.FromCodeSystemJson(
            KnowledgeLoader.ReadArtifacts(sp.GetRequiredService<IOptions<CdsOptions>>().Value.KnowledgeDirectory).TryGetValue(OverrideReasonCatalog.FileName, out var json)
                ? json
                : throw new InvalidOperationException($"fhir-profiles/{OverrideReasonCatalog.FileName} is missing.")));

        services.AddSingleton<CardLedgerWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<CardLedgerWriter>());
        services.AddHostedService<FeedbackRetention>();
        services.AddSingleton<CardReviewStep>();
        return services;
    }

    /// <summary>The feedback store as the snooze step and the feedback handler see it.</summary>
    public static IFeedbackStore OverrideLookup(IKetamineCdsStore store, FeedbackStoreOptions settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        return settings.SnoozeCacheSeconds > 0
            ? new OverrideLookupCache(store, TimeSpan.FromSeconds(settings.SnoozeCacheSeconds), settings.SnoozeCacheMaxEntries, time)
            : store;
    }

    /// <summary>Opens the store (creating or migrating the schema) before the service listens.</summary>
    public static void InitializeFeedbackStore(this IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.GetRequiredService<IKetamineCdsStore>();
        services.GetRequiredService<OverrideReasonCatalog>();
    }
}

/// <summary>Deletes feedback and cards past <see cref="FeedbackStoreOptions.RetentionDays"/>, once a day (off when 0).</summary>
internal sealed class FeedbackRetention(IKetamineCdsStore store, IOptions<FeedbackStoreOptions> options, TimeProvider time, ILogger<FeedbackRetention> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var days = options.Value.RetentionDays;
        if (days == 0 || store is not SqlKetamineCdsStore sql)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromDays(1), time);
        do
        {
            try
            {
                FeedbackLog.RetentionApplied(logger, await sql.DeleteOlderThanAsync(time.GetUtcNow().AddDays(-days), stoppingToken), days);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                FeedbackLog.RetentionFailed(logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
