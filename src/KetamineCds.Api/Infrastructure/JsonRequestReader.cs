using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Fhir.Data;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// Reads a JSON request body for a CDS route: media type (415), size limit whatever Content-Length claims (413),
/// well-formed JSON within the depth limit (400), text that is valid Unicode (400). Shared by service calls and feedback.
/// <para>
/// System.Text.Json checks the JSON grammar but not the text inside strings: invalid UTF-8 (a Latin-1 "\xE9", an
/// overlong "\xC0\x80", an encoded surrogate) and escaped lone surrogates ("\ud800") parse, and then make every later
/// <c>GetString</c>/<c>GetRawText</c> throw, which was a 500 (issue 8 item 3). RFC 8259 section 8.1 requires UTF-8 and
/// section 8.2 leaves unpaired surrogates undefined; FHIR strings may not hold NUL. So all three are refused here, once,
/// before anything reads a value.
/// </para>
/// </summary>
public sealed class JsonRequestReader(IOptions<CdsOptions> options)
{
    /// <summary>The parsed document (the caller disposes it), or the error to answer with.</summary>
    public async Task<(JsonDocument? Document, RequestError? Error)> ReadAsync(HttpContext http, string what, CancellationToken cancellationToken)
    {
        var (document, _, error) = await ReadAsync(http, what, split: false, cancellationToken);
        return (document, error);
    }

    /// <summary>
    /// A hook request, read once (<see cref="PrefetchSplitter"/>): the document of its envelope (the caller disposes it)
    /// and the prefetch Bundles' entries as they lie in the body, or the whole body's document when nothing was split.
    /// The same checks and the same refusals as <see cref="ReadAsync(HttpContext, string, CancellationToken)"/>.
    /// </summary>
    public Task<(JsonDocument? Document, SplitRequest? Split, RequestError? Error)> ReadHookAsync(HttpContext http, CancellationToken cancellationToken) =>
        ReadAsync(http, "hook request", split: true, cancellationToken);

    private async Task<(JsonDocument? Document, SplitRequest? Split, RequestError? Error)> ReadAsync(HttpContext http, string what, bool split, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!IsJson(http.Request.ContentType))
        {
            return (null, null, new RequestError(StatusCodes.Status415UnsupportedMediaType, "not-supported", $"Send the {what} as application/json."));
        }

        var (body, bodyError) = await ReadBodyAsync(http, cancellationToken);
        if (bodyError is not null)
        {
            return (null, null, bodyError);
        }

        if (!Utf8.IsValid(body.Span))
        {
            return (null, null, new RequestError(StatusCodes.Status400BadRequest, "structure",
                $"The request body is not valid UTF-8 (first invalid byte at offset {FirstInvalidUtf8(body.Span)}). Send JSON as UTF-8 (RFC 8259 section 8.1)."));
        }

        var maxDepth = options.Value.MaxJsonDepth;
        SplitRequest? splitRequest = null;
        try
        {
            // The splitter's one pass checks the grammar and the depth as the document's parse would, and throws the same.
            if (split && PrefetchSplitter.Split(body, maxDepth) is { } parts)
            {
                splitRequest = parts;
                http.Response.RegisterForDispose(parts);
            }

            // Without a split (nothing to split, or not a hook request) the whole body's parse is the grammar check.
            var document = JsonDocument.Parse(splitRequest?.Envelope ?? body, new JsonDocumentOptions { MaxDepth = maxDepth });
            if (InvalidEscape(body.Span) is { } invalid)
            {
                document.Dispose();
                return (null, null, new RequestError(StatusCodes.Status400BadRequest, "structure", invalid));
            }

            return (document, splitRequest, null);
        }
        catch (JsonException ex)
        {
            var reason = ex.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase)
                ? $"The request JSON is nested deeper than {maxDepth} levels."
                : "The request body is not valid JSON.";
            return (null, null, new RequestError(StatusCodes.Status400BadRequest, "structure", reason));
        }
    }

    /// <summary>
    /// A string or property name whose escapes decode to a lone surrogate or to NUL, or null when there is none.
    /// <para>Called only after the body parsed, so it is grammatical JSON: a backslash occurs only inside a string or
    /// property name, and one starts an escape exactly when it follows an even number of backslashes (RFC 8259
    /// section 7). That lets a few vectorized searches decide, without a second tokenizing pass (a <c>Utf8JsonReader</c>
    /// walk decoding every escaped string cost about a third of the parse on charts whose narratives escape every
    /// <c>&lt;</c>: docs/performance.md). Only two escapes can be wrong: NUL is <c>\u0000</c>, and a surrogate is
    /// <c>\ud...</c> or <c>\uD...</c> (a high surrogate must be followed at once by a <c>\u</c> low surrogate, and a
    /// low surrogate must not appear on its own). So only those three byte sequences are searched for, and the common
    /// escapes (<c>\u003C</c>, <c>\n</c>) are never visited one by one.</para>
    /// </summary>
    internal static string? InvalidEscape(ReadOnlySpan<byte> body)
    {
        var nul = NextEscape(body, 0, "\\u0000"u8);
        if (nul >= 0)
        {
            // The first NUL; a surrogate error before it is reported instead, as the scan in byte order would.
            var surrogate = SurrogateError(body[..nul], out var at);
            return surrogate ? UnpairedSurrogate(at)
                : $"The request JSON has a string containing NUL (\\u0000, near byte {nul}); FHIR and CDS Hooks strings may not contain it.";
        }

        return SurrogateError(body, out var where) ? UnpairedSurrogate(where) : null;

        static string UnpairedSurrogate(int at) =>
            $"The request JSON has a string with an unpaired surrogate escape (near byte {at}); send text as valid Unicode.";
    }

    /// <summary>Whether the bytes hold a lone surrogate escape, and where the first one is.</summary>
    private static bool SurrogateError(ReadOnlySpan<byte> body, out int at)
    {
        var lower = NextEscape(body, 0, "\\ud"u8);
        var upper = NextEscape(body, 0, "\\uD"u8);
        while (lower >= 0 || upper >= 0)
        {
            at = lower < 0 ? upper : upper < 0 ? lower : Math.Min(lower, upper);
            var next = at + 6;
            if (!TryHex4(body, at + 2, out var unit))
            {
                next = at + 2; // cannot happen in parsed JSON; nothing to decode
            }
            else if (char.IsLowSurrogate((char)unit))
            {
                return true; // a low surrogate on its own (one after its high surrogate is stepped over below)
            }
            else if (char.IsHighSurrogate((char)unit))
            {
                if (at + 7 >= body.Length || body[at + 6] != (byte)'\\' || body[at + 7] != (byte)'u'
                    || !TryHex4(body, at + 8, out var low) || !char.IsLowSurrogate((char)low))
                {
                    return true;
                }

                next = at + 12;
            }

            if (lower >= 0 && lower < next)
            {
                lower = NextEscape(body, next, "\\ud"u8);
            }

            if (upper >= 0 && upper < next)
            {
                upper = NextEscape(body, next, "\\uD"u8);
            }
        }

        at = -1;
        return false;
    }

    /// <summary>The offset of the next occurrence of <paramref name="escape"/> at or after <paramref name="from"/>
    /// whose backslash starts an escape (it follows an even number of backslashes), or -1.</summary>
    private static int NextEscape(ReadOnlySpan<byte> body, int from, ReadOnlySpan<byte> escape)
    {
        while (from < body.Length)
        {
            var found = body[from..].IndexOf(escape);
            if (found < 0)
            {
                return -1;
            }

            var at = from + found;
            var backslashes = 0;
            while (at - backslashes - 1 >= 0 && body[at - backslashes - 1] == (byte)'\\')
            {
                backslashes++;
            }

            if (backslashes % 2 == 0)
            {
                return at;
            }

            from = at + 1;
        }

        return -1;
    }

    /// <summary>The four hex digits of a <c>\u</c> escape at <paramref name="start"/> (the framework's UTF-8 parser).</summary>
    private static bool TryHex4(ReadOnlySpan<byte> body, int start, out int value)
    {
        value = 0;
        if (start + 4 > body.Length
            || !ushort.TryParse(body.Slice(start, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var unit))
        {
            return false;
        }

        value = unit;
        return true;
    }

    /// <summary>The offset of the first byte that does not begin a valid UTF-8 sequence (only on the error path).</summary>
    private static int FirstInvalidUtf8(ReadOnlySpan<byte> body)
    {
        var offset = 0;
        while (offset < body.Length)
        {
            if (Rune.DecodeFromUtf8(body[offset..], out _, out var consumed) != OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return offset;
    }

    /// <summary>
    /// Status 499 ("client closed request", nginx's convention; never sent): the client disconnected before the body
    /// was read. <see cref="OperationOutcomes.Refuse"/> logs it as a disconnect and writes nothing.
    /// </summary>
    public static RequestError ClientDisconnected { get; } = new(OperationOutcomes.ClientClosedRequest, "client-closed", "The client disconnected before sending the whole body.");

    /// <summary>
    /// Kestrel reports a body cut short by the peer as a 400 BadHttpRequestException ("Unexpected end of request
    /// content"), a reset as an IOException (ConnectionResetException), and an aborted request as a cancellation.
    /// </summary>
    private static bool IsClientDisconnect(Exception ex, HttpContext http) =>
        http.RequestAborted.IsCancellationRequested
        || ex is IOException and not BadHttpRequestException
        || ex is OperationCanceledException
        || (ex is BadHttpRequestException bad && bad.StatusCode == StatusCodes.Status400BadRequest
            && bad.Message.Contains("Unexpected end of request content", StringComparison.Ordinal));

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType is { } type
        && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads the body up to the configured limit; anything larger is a 413, whatever Content-Length claimed.</summary>
    private async Task<(ReadOnlyMemory<byte> Body, RequestError? Error)> ReadBodyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        var tooLarge = new RequestError(StatusCodes.Status413PayloadTooLarge, "too-long", $"The request body exceeds {limit} bytes.");
        if (http.Request.ContentLength > limit)
        {
            return (default, tooLarge);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        // The body lives in a pooled array, returned when the response has been sent (the parsed document reads it in
        // place until then). A realistic chart is above the 85 KB large-object threshold: a fresh array per call was a
        // large-object allocation per call, and those drive full background collections (docs/performance.md).
        var buffer = new PooledBody((int)Math.Min(http.Request.ContentLength ?? 16 * 1024, limit) + 1);
        http.Response.RegisterForDispose(buffer);
        try
        {
            while (true)
            {
                var memory = buffer.GetMemory(16 * 1024);
                var read = await http.Request.Body.ReadAsync(memory, cancellationToken);
                if (read == 0)
                {
                    break;
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    return (default, tooLarge);
                }
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, tooLarge);
        }
        catch (Exception ex) when (IsClientDisconnect(ex, http))
        {
            // The client went away mid-upload: nothing to answer and nobody to answer it to. Not a refusal (issue 8 item 8).
            return (default, ClientDisconnected);
        }
        catch (BadHttpRequestException ex)
        {
            return (default, new RequestError(ex.StatusCode, "structure", "The request body could not be read."));
        }

        return (buffer.WrittenMemory, null);
    }

    /// <summary>A growable buffer over <see cref="ArrayPool{T}.Shared"/>; disposing it clears and returns the array.</summary>
    private sealed class PooledBody(int initialSize) : IDisposable
    {
        private byte[] array = ArrayPool<byte>.Shared.Rent(Math.Max(initialSize, 256));

        public int WrittenCount { get; private set; }

        public ReadOnlyMemory<byte> WrittenMemory => array.AsMemory(0, WrittenCount);

        public Memory<byte> GetMemory(int sizeHint)
        {
            if (array.Length - WrittenCount < sizeHint)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(array.Length * 2, WrittenCount + sizeHint));
                array.AsSpan(0, WrittenCount).CopyTo(larger);
                Release(array, WrittenCount);
                array = larger;
            }

            return array.AsMemory(WrittenCount);
        }

        public void Advance(int count) => WrittenCount += count;

        public void Dispose()
        {
            var returned = Interlocked.Exchange(ref array, []);
            if (returned.Length > 0)
            {
                Release(returned, WrittenCount);
            }
        }

        /// <summary>One patient's chart must not linger in an array the next request rents: the used part is cleared first.</summary>
        private static void Release(byte[] rented, int used)
        {
            rented.AsSpan(0, Math.Min(used, rented.Length)).Clear();
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
