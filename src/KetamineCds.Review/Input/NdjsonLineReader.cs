namespace KetamineCds.Review.Input;

/// <summary>
/// Reads a stream line by line as raw UTF-8 bytes without loading the file: one buffer that grows only to the longest
/// line (bounded by <see cref="MaxLineBytes"/>). A line longer than that is reported, not read, and the reader moves on
/// to the next newline, so one broken record never stops a review.
/// </summary>
public sealed class NdjsonLineReader : IDisposable
{
    /// <summary>A FHIR resource beyond 64 MB on one line is far outside what an EHR exports; it is reported, not read.</summary>
    public const int MaxLineBytes = 64 * 1024 * 1024;

    private readonly Stream _stream;
    private byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;
    private bool _eof;
    private long _lineNumber;

    public NdjsonLineReader(Stream stream) => _stream = stream ?? throw new ArgumentNullException(nameof(stream));

    /// <summary>Bytes consumed so far (for progress).</summary>
    public long BytesRead { get; private set; }

    /// <summary>The next line (without CR/LF), valid until the next call; false at the end of the stream.</summary>
    /// <param name="tooLong">True when the line exceeded <see cref="MaxLineBytes"/> and was skipped (line is empty).</param>
    public bool TryReadLine(out ReadOnlyMemory<byte> line, out long lineNumber, out bool tooLong)
    {
        tooLong = false;
        var skipping = false;
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                lineNumber = ++_lineNumber;
                var length = newline - _start;
                if (length > 0 && _buffer[newline - 1] == (byte)'\r')
                {
                    length--;
                }

                line = skipping ? ReadOnlyMemory<byte>.Empty : StripBom(new ReadOnlyMemory<byte>(_buffer, _start, length), lineNumber);
                tooLong = skipping;
                _start = newline + 1;
                return true;
            }

            if (_eof)
            {
                if (_start < _end || skipping)
                {
                    lineNumber = ++_lineNumber;
                    var length = _end - _start;
                    if (length > 0 && _buffer[_end - 1] == (byte)'\r')
                    {
                        length--;
                    }

                    line = skipping ? ReadOnlyMemory<byte>.Empty : StripBom(new ReadOnlyMemory<byte>(_buffer, _start, length), lineNumber);
                    tooLong = skipping;
                    _start = _end;
                    return true;
                }

                line = default;
                lineNumber = _lineNumber;
                return false;
            }

            if (skipping)
            {
                // Discard what is buffered of the over-long line and keep looking for its end.
                _start = _end = 0;
            }
            else if (_end - _start >= MaxLineBytes)
            {
                skipping = true;
                _start = _end = 0;
            }

            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes + (1 << 20)));
        }

        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
        BytesRead += read;
    }

    private static ReadOnlyMemory<byte> StripBom(ReadOnlyMemory<byte> line, long lineNumber) =>
        lineNumber == 1 && line.Span.StartsWith("\uFEFF"u8) ? line[3..] : line;

    public void Dispose() => _stream.Dispose();
}
