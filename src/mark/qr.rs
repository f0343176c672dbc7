//! Label QR codes.
