/**
 * Internal, not API: helpers that several public packages share. Public only so that those packages
 * can reach them; any class or member here may change or disappear in any release.
 */
package io.flowmonkey.internal;
