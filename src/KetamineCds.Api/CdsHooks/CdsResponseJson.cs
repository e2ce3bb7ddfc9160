using System.Buffers;
using System.Collections;
using System.Text.Json;

namespace KetamineCds.Api.CdsHooks;

/// <summary>
/// Writes a <see cref="CdsServiceResponse"/> straight to a <see cref="Utf8JsonWriter"/>, byte for byte what
/// <c>JsonSerializer</c> with <see cref="CdsJson.Options"/> writes (camelCase, declaration order, no null members, no
/// empty strings or collections except <c>cards</c>), without the serializer's per-property metadata walk.
/// </summary>
/// <remarks>
/// Why by hand: a profile under load put 3.7% of the service's CPU in the reflection serializer's object converter
/// (issue 8 item 1), and a source-generated context cannot keep its fast path with the <see cref="CdsJson"/> "omit
/// empty" modifier. The property names are pre-encoded once. The contract tests compare this writer with the
/// serializer on every scenario and on fully populated and empty instances of every type
/// (<c>CdsResponseJsonTests</c>), so a property added to <c>Contract.cs</c> and not here fails a test.
/// The encoder is the writer's default (<c>JavaScriptEncoder.Default</c>), as the serializer's is.
/// </remarks>
public static class CdsResponseJson
{
    public const string ContentType = "application/json; charset=utf-8";

    private static readonly JsonEncodedText Cards = JsonEncodedText.Encode("cards");
    private static readonly JsonEncodedText Uuid = JsonEncodedText.Encode("uuid");
    private static readonly JsonEncodedText Summary = JsonEncodedText.Encode("summary");
    private static readonly JsonEncodedText Indicator = JsonEncodedText.Encode("indicator");
    private static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText Detail = JsonEncodedText.Encode("detail");
    private static readonly JsonEncodedText Links = JsonEncodedText.Encode("links");
    private static readonly JsonEncodedText OverrideReasons = JsonEncodedText.Encode("overrideReasons");
    private static readonly JsonEncodedText Extension = JsonEncodedText.Encode("extension");
    private static readonly JsonEncodedText Label = JsonEncodedText.Encode("label");
    private static readonly JsonEncodedText Url = JsonEncodedText.Encode("url");
    private static readonly JsonEncodedText Topic = JsonEncodedText.Encode("topic");
    private static readonly JsonEncodedText SystemName = JsonEncodedText.Encode("system");
    private static readonly JsonEncodedText Code = JsonEncodedText.Encode("code");
    private static readonly JsonEncodedText Display = JsonEncodedText.Encode("display");
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText AppContext = JsonEncodedText.Encode("appContext");
    private static readonly JsonEncodedText KetamineCds = JsonEncodedText.Encode("ketaminecds");
    private static readonly JsonEncodedText Finding = JsonEncodedText.Encode("finding");
    private static readonly JsonEncodedText LamotrigineMgPerDay = JsonEncodedText.Encode("lamotrigineMgPerDay");
    private static readonly JsonEncodedText LamotrigineDoseCategory = JsonEncodedText.Encode("lamotrigineDoseCategory");
    private static readonly JsonEncodedText LorazepamEquivalentMgPerDay = JsonEncodedText.Encode("lorazepamEquivalentMgPerDay");
    private static readonly JsonEncodedText LorazepamEquivalentMgPerDayAlternate = JsonEncodedText.Encode("lorazepamEquivalentMgPerDayAlternate");
    private static readonly JsonEncodedText ThresholdLorazepamMgPerDay = JsonEncodedText.Encode("thresholdLorazepamMgPerDay");
    private static readonly JsonEncodedText TotalExcludesUncountedMedications = JsonEncodedText.Encode("totalExcludesUncountedMedications");
    private static readonly JsonEncodedText Medications = JsonEncodedText.Encode("medications");
    private static readonly JsonEncodedText QidsSr = JsonEncodedText.Encode("qidsSr");
    private static readonly JsonEncodedText Cadss = JsonEncodedText.Encode("cadss");
    private static readonly JsonEncodedText UnreadableResources = JsonEncodedText.Encode("unreadableResources");
    private static readonly JsonEncodedText LorazepamEquivalentIsUpTo = JsonEncodedText.Encode("lorazepamEquivalentIsUpTo");
    private static readonly JsonEncodedText KetamineForm = JsonEncodedText.Encode("ketamineForm");
    private static readonly JsonEncodedText Benzodiazepines = JsonEncodedText.Encode("benzodiazepines");
    private static readonly JsonEncodedText ExcludedObservations = JsonEncodedText.Encode("excludedObservations");
    private static readonly JsonEncodedText Reference = JsonEncodedText.Encode("reference");
    private static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText Ingredient = JsonEncodedText.Encode("ingredient");
    private static readonly JsonEncodedText MgPerDay = JsonEncodedText.Encode("mgPerDay");
    private static readonly JsonEncodedText ScheduledMgPerDay = JsonEncodedText.Encode("scheduledMgPerDay");
    private static readonly JsonEncodedText Derivation = JsonEncodedText.Encode("derivation");
    private static readonly JsonEncodedText Counted = JsonEncodedText.Encode("counted");
    private static readonly JsonEncodedText NotCountedReason = JsonEncodedText.Encode("notCountedReason");
    private static readonly JsonEncodedText AlsoRecordedAs = JsonEncodedText.Encode("alsoRecordedAs");
    private static readonly JsonEncodedText NotCountedKind = JsonEncodedText.Encode("notCountedKind");
    private static readonly JsonEncodedText IsUpTo = JsonEncodedText.Encode("isUpTo");
    private static readonly JsonEncodedText ReconciliationNote = JsonEncodedText.Encode("reconciliationNote");
    private static readonly JsonEncodedText Baseline = JsonEncodedText.Encode("baseline");
    private static readonly JsonEncodedText Latest = JsonEncodedText.Encode("latest");
    private static readonly JsonEncodedText PercentChange = JsonEncodedText.Encode("percentChange");
    private static readonly JsonEncodedText Response = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText Remission = JsonEncodedText.Encode("remission");
    private static readonly JsonEncodedText ResponseAtAnyPoint = JsonEncodedText.Encode("responseAtAnyPoint");
    private static readonly JsonEncodedText RemissionAtAnyPoint = JsonEncodedText.Encode("remissionAtAnyPoint");
    private static readonly JsonEncodedText FirstResponseDate = JsonEncodedText.Encode("firstResponseDate");
    private static readonly JsonEncodedText FirstRemissionDate = JsonEncodedText.Encode("firstRemissionDate");
    private static readonly JsonEncodedText Mean = JsonEncodedText.Encode("mean");

    /// <summary>The response as the hook answers it; a null response writes <c>null</c>, as the serializer does.</summary>
    public static void Write(Utf8JsonWriter json, CdsServiceResponse? response)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (response is null)
        {
            json.WriteNullValue();
            return;
        }

        json.WriteStartObject();
        // CDS Hooks: "cards" is always present, even empty (CdsJson leaves this one collection unfiltered); null is omitted.
        if (response.Cards is { } cards)
        {
            json.WriteStartArray(Cards);
            foreach (var card in cards)
            {
                WriteCard(json, card);
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_bytes;

    /// <summary>The response as UTF-8 bytes (tests, benchmarks): written into a buffer reused on this thread, then copied once.</summary>
    public static byte[] ToUtf8Bytes(CdsServiceResponse? response)
    {
        var buffer = t_bytes ??= new ArrayBufferWriter<byte>(16 * 1024);
        buffer.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, response);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteCard(Utf8JsonWriter json, Card? card)
    {
        if (card is null)
        {
            json.WriteNullValue();
            return;
        }

        json.WriteStartObject();
        String(json, Uuid, card.Uuid);
        String(json, Summary, card.Summary);
        String(json, Indicator, card.Indicator);
        if (card.Source is { } source)
        {
            json.WritePropertyName(Source);
            json.WriteStartObject();
            String(json, Label, source.Label);
            String(json, Url, source.Url);
            if (source.Topic is { } topic)
            {
                json.WritePropertyName(Topic);
                WriteCoding(json, topic);
            }

            json.WriteEndObject();
        }

        String(json, Detail, card.Detail);
        if (HasItems(card.Links))
        {
            json.WriteStartArray(Links);
            foreach (var link in card.Links!)
            {
                if (link is null)
                {
                    json.WriteNullValue();
                    continue;
                }

                json.WriteStartObject();
                String(json, Label, link.Label);
                String(json, Url, link.Url);
                String(json, Type, link.Type);
                String(json, AppContext, link.AppContext);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        if (HasItems(card.OverrideReasons))
        {
            json.WriteStartArray(OverrideReasons);
            foreach (var reason in card.OverrideReasons!)
            {
                WriteCoding(json, reason);
            }

            json.WriteEndArray();
        }

        if (card.Extension is { } extension)
        {
            json.WritePropertyName(Extension);
            json.WriteStartObject();
            if (extension.KetamineCds is { } k)
            {
                json.WritePropertyName(KetamineCds);
                WriteExtension(json, k);
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    private static void WriteCoding(Utf8JsonWriter json, CdsCoding? coding)
    {
        if (coding is null)
        {
            json.WriteNullValue();
            return;
        }

        json.WriteStartObject();
        String(json, SystemName, coding.System);
        String(json, Code, coding.Code);
        String(json, Display, coding.Display);
        json.WriteEndObject();
    }

    private static void WriteExtension(Utf8JsonWriter json, KetamineCdsExtension e)
    {
        json.WriteStartObject();
        String(json, Finding, e.Finding);
        Number(json, LamotrigineMgPerDay, e.LamotrigineMgPerDay);
        String(json, LamotrigineDoseCategory, e.LamotrigineDoseCategory);
        Number(json, LorazepamEquivalentMgPerDay, e.LorazepamEquivalentMgPerDay);
        Number(json, LorazepamEquivalentMgPerDayAlternate, e.LorazepamEquivalentMgPerDayAlternate);
        Number(json, ThresholdLorazepamMgPerDay, e.ThresholdLorazepamMgPerDay);
        Boolean(json, TotalExcludesUncountedMedications, e.TotalExcludesUncountedMedications);
        MedicationLines(json, e.Medications);
        if (e.QidsSr is { } q)
        {
            json.WritePropertyName(QidsSr);
            json.WriteStartObject();
            Number(json, Baseline, q.Baseline);
            Number(json, Latest, q.Latest);
            Number(json, PercentChange, q.PercentChange);
            Boolean(json, Response, q.Response);
            Boolean(json, Remission, q.Remission);
            Boolean(json, ResponseAtAnyPoint, q.ResponseAtAnyPoint);
            Boolean(json, RemissionAtAnyPoint, q.RemissionAtAnyPoint);
            Date(json, FirstResponseDate, q.FirstResponseDate);
            Date(json, FirstRemissionDate, q.FirstRemissionDate);
            json.WriteEndObject();
        }

        if (e.Cadss is { } c)
        {
            json.WritePropertyName(Cadss);
            json.WriteStartObject();
            Number(json, Mean, c.Mean);
            Number(json, Latest, c.Latest);
            json.WriteEndObject();
        }

        if (e.UnreadableResources is { } unreadable)
        {
            json.WriteNumber(UnreadableResources, unreadable);
        }

        Boolean(json, LorazepamEquivalentIsUpTo, e.LorazepamEquivalentIsUpTo);
        String(json, KetamineForm, e.KetamineForm);
        if (e.Benzodiazepines is { } b)
        {
            json.WritePropertyName(Benzodiazepines);
            json.WriteStartObject();
            Number(json, LorazepamEquivalentMgPerDay, b.LorazepamEquivalentMgPerDay);
            Number(json, LorazepamEquivalentMgPerDayAlternate, b.LorazepamEquivalentMgPerDayAlternate);
            Boolean(json, LorazepamEquivalentIsUpTo, b.LorazepamEquivalentIsUpTo);
            json.WriteNumber(ThresholdLorazepamMgPerDay, b.ThresholdLorazepamMgPerDay);
            Boolean(json, TotalExcludesUncountedMedications, b.TotalExcludesUncountedMedications);
            MedicationLines(json, b.Medications);
            json.WriteEndObject();
        }

        if (HasItems(e.ExcludedObservations))
        {
            json.WriteStartArray(ExcludedObservations);
            foreach (var x in e.ExcludedObservations!)
            {
                if (x is null)
                {
                    json.WriteNullValue();
                    continue;
                }

                json.WriteStartObject();
                String(json, Reference, x.Reference);
                String(json, Reason, x.Reason);
                String(json, Detail, x.Detail);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void MedicationLines(Utf8JsonWriter json, IReadOnlyList<MedicationLine>? lines)
    {
        if (!HasItems(lines))
        {
            return;
        }

        json.WriteStartArray(Medications);
        foreach (var l in lines!)
        {
            if (l is null)
            {
                json.WriteNullValue();
                continue;
            }

            json.WriteStartObject();
            String(json, Reference, l.Reference);
            String(json, Ingredient, l.Ingredient);
            Number(json, MgPerDay, l.MgPerDay);
            Number(json, ScheduledMgPerDay, l.ScheduledMgPerDay);
            Number(json, LorazepamEquivalentMgPerDay, l.LorazepamEquivalentMgPerDay);
            Number(json, LorazepamEquivalentMgPerDayAlternate, l.LorazepamEquivalentMgPerDayAlternate);
            Strings(json, Derivation, l.Derivation);
            Boolean(json, Counted, l.Counted);
            String(json, NotCountedReason, l.NotCountedReason);
            Strings(json, AlsoRecordedAs, l.AlsoRecordedAs);
            String(json, NotCountedKind, l.NotCountedKind);
            String(json, Display, l.Display);
            Boolean(json, IsUpTo, l.IsUpTo);
            String(json, ReconciliationNote, l.ReconciliationNote);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>CdsJson's rule for collections: written unless a collection with no items (or null).</summary>
    private static bool HasItems(IEnumerable? value) => value is ICollection { Count: > 0 } || (value is not null and not ICollection);

    private static void String(Utf8JsonWriter json, JsonEncodedText name, string? value)
    {
        // CdsJson's rule for strings: null and "" are both omitted.
        if (!string.IsNullOrEmpty(value))
        {
            json.WriteString(name, value);
        }
    }

    private static void Strings(Utf8JsonWriter json, JsonEncodedText name, IReadOnlyList<string>? values)
    {
        if (!HasItems(values))
        {
            return;
        }

        json.WriteStartArray(name);
        foreach (var value in values!)
        {
            if (value is null)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStringValue(value);
            }
        }

        json.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter json, JsonEncodedText name, decimal? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }

    private static void Boolean(Utf8JsonWriter json, JsonEncodedText name, bool? value)
    {
        if (value is { } v)
        {
            json.WriteBoolean(name, v);
        }
    }

    private static void Date(Utf8JsonWriter json, JsonEncodedText name, DateTimeOffset? value)
    {
        if (value is { } v)
        {
            json.WriteString(name, v);
        }
    }
}

/// <summary>The hook's 200 answer, written by <see cref="CdsResponseJson"/> straight into the response body.</summary>
public sealed class CdsResponseResult(CdsServiceResponse? response) : IResult
{
    public CdsServiceResponse? Response { get; } = response;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        httpContext.Response.ContentType = CdsResponseJson.ContentType;
        var body = httpContext.Response.BodyWriter;
        using (var json = new Utf8JsonWriter(body))
        {
            CdsResponseJson.Write(json, Response);
        }

        await body.FlushAsync(httpContext.RequestAborted);
    }
}
