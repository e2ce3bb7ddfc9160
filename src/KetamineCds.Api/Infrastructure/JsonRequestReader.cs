using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using KetamineCds.Api.CdsHooks;
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
        ArgumentNullException.ThrowIfNull(http);
        if (!IsJson(http.Request.ContentType))
        {
            return (null, new RequestError(StatusCodes.Status415UnsupportedMediaType, "not-supported", $"Send the {what} as application/json."));
        }

        var (body, bodyError) = await ReadBodyAsync(http, cancellationToken);
        if (bodyError is not null)
        {
            return (null, bodyError);
        }

        if (!Utf8.IsValid(body.Span))
        {
            return (null, new RequestError(StatusCodes.Status400BadRequest, "structure",
                $"The request body is not valid UTF-8 (first invalid byte at offset {FirstInvalidUtf8(body.Span)}). Send JSON as UTF-8 (RFC 8259 section 8.1)."));
        }

        var maxDepth = options.Value.MaxJsonDepth;
        try
        {
            var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = maxDepth });
            if (InvalidEscape(body.Span, maxDepth) is { } invalid)
            {
                document.Dispose();
                return (null, new RequestError(StatusCodes.Status400BadRequest, "structure", invalid));
            }

            return (document, null);
        }
        catch (JsonException ex)
        {
            var reason = ex.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase)
                ? $"The request JSON is nested deeper than {maxDepth} levels."
                : "The request body is not valid JSON.";
            return (null, new RequestError(StatusCodes.Status400BadRequest, "structure", reason));
        }
    }

    /// <summary>
    /// A string or property name whose escapes decode to a lone surrogate or to NUL, or null when there is none.
    /// Only bodies that contain an escape at all (<c>\u</c>) are walked, so the common request costs one vectorized search.
    /// </summary>
    private static string? InvalidEscape(ReadOnlySpan<byte> body, int maxDepth)
    {
        if (body.IndexOf("\\u"u8) < 0)
        {
            return null;
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth });
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped)
            {
                continue;
            }

            string text;
            try
            {
                text = reader.GetString()!;
            }
            catch (InvalidOperationException)
            {
                return $"The request JSON has a string with an unpaired surrogate escape (near byte {reader.TokenStartIndex}); send text as valid Unicode.";
            }

            if (text.Contains('\0', StringComparison.Ordinal))
            {
                return $"The request JSON has a string containing NUL (\\u0000, near byte {reader.TokenStartIndex}); FHIR and CDS Hooks strings may not contain it.";
            }
        }

        return null;
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

        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(http.Request.ContentLength ?? 16 * 1024, limit) + 1);
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
}
